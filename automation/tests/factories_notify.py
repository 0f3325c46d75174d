"""Channels and events for the notification tests, made through the real services."""

from django.utils import timezone

from automation.events import event_emit
from automation.fakes.fixtures import BOT_TOKEN
from automation.models import RuleRun
from automation.notify import linking
from automation.services import notify as services

CHAT_ID = 777001


def email_channel(team, **data):
    return services.channel_create(workspace=team["workspace"], user=team["admin"],
                                   data={"kind": "email", "addresses": ["ops@example.com"], **data})[0]


def webhook_channel(team, receiver, **data):
    channel, secret = services.channel_create(workspace=team["workspace"], user=team["admin"],
                                              data={"kind": "webhook", "url": receiver.url, **data})
    receiver.secrets.append(secret)
    return channel


def telegram_channel(team, fake, *, chat_id=CHAT_ID, **data):
    """A Telegram channel whose chat pressed Start on the signed link."""
    channel, _ = services.channel_create(workspace=team["workspace"], user=team["admin"],
                                         data={"kind": "telegram", "bot_token": BOT_TOKEN, **data})
    fake.press_start(BOT_TOKEN, chat_id, linking.start_token(channel))
    assert services.telegram_link_check(channel=channel)
    channel.refresh_from_db()
    fake.sent.clear()  # forget the "Linked" confirmation
    return channel


def decided_event(team, deployment=None, *, type="down", key="flip:1", summary=None, data=None, runs=()):
    """An event the rules engine has processed, with its rule runs: (rule_name, outcome, detail)."""
    event = event_emit(workspace=team["workspace"], type=type, dedup_key=key, deployment=deployment,
                       summary=summary or f"{deployment.name if deployment else 'Deployment'} is down", data=data)
    for rule_name, outcome, detail in runs:
        RuleRun.objects.create(workspace=team["workspace"], deployment=deployment, event=event, rule_name=rule_name,
                               trigger=type, outcome=outcome, detail=detail, started_at=timezone.now())
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at"])
    return event
