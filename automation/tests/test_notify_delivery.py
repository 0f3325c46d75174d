"""Fan-out and delivery against loopback receivers: exactly one message per event per channel
with three workers, what automation did in the message, retries with backoff honouring
Retry-After / retry_after, no retry on 4xx, permanent failures, flapping suppression."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from automation.fakes.fixtures import fake_telegram, receiver, _telegram_server, _webhook_server  # noqa: F401
from automation.models import Notification, NotificationStatus
from automation.notifiers import webhook as webhook_notifier
from automation.notify import deliver_due
from automation.services.notify import notify_channels
from automation.tests.concurrency import run_concurrently
from automation.tests.factories_notify import CHAT_ID, decided_event, email_channel, telegram_channel, webhook_channel
from deployments.tests.factories import DeploymentFactory


def _rows(channel):
    return list(Notification.objects.filter(channel=channel).order_by("attempt", "id"))


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_workers_send_exactly_one_message_per_channel(team, receiver, fake_telegram):
    hook, tg, email = webhook_channel(team, receiver), telegram_channel(team, fake_telegram), email_channel(team)
    deployment = DeploymentFactory(workspace=team["workspace"], name="llama-server")
    decided_event(team, deployment, runs=[("Auto-restart", "done", "restarted after 3 failed health checks")])
    mail.outbox.clear()
    _, errors = run_concurrently(deliver_due, 3, timeout_s=30)

    assert errors == []
    assert len(receiver.deliveries) == 1 and receiver.deliveries[0].verified_by
    assert len(fake_telegram.messages_to(CHAT_ID)) == 1
    assert len(mail.outbox) == 1
    for channel in (hook, tg, email):
        assert [(r.attempt, r.status) for r in _rows(channel)] == [(1, NotificationStatus.SENT)]


def test_the_message_says_what_happened_and_what_automation_did(team, receiver):
    webhook_channel(team, receiver)
    deployment = DeploymentFactory(workspace=team["workspace"], name="llama-server", provider="runpod")
    event = decided_event(team, deployment, runs=[("Auto-restart", "done", "restarted after 3 failed health checks"),
                                                  ("Quiet rule", "not_matched", "")])
    deliver_due()
    delivery = receiver.deliveries[0]
    body = delivery.json
    assert body["type"] == "down" and body["summary"] == "llama-server is down"
    assert body["deployment"] == {"id": str(deployment.pk), "name": "llama-server", "provider": "runpod"}
    assert body["workspace"]["slug"] == team["workspace"].slug
    assert body["id"] == delivery.headers["webhook-id"]
    assert [(a["rule"], a["outcome"], a["detail"]) for a in body["automation"]] == [
        ("Auto-restart", "done", "restarted after 3 failed health checks")]
    assert Notification.objects.get(event=event).body.count("Auto-restart: Done — restarted after 3") == 1


def test_an_event_waits_for_the_engine_then_goes_after_60_s(team, receiver):
    webhook_channel(team, receiver)
    event = decided_event(team, summary="gpu-box is down")
    event.processed_at = None
    event.save(update_fields=["processed_at"])
    assert deliver_due() == 0 and not receiver.deliveries
    deliver_due(now=timezone.now() + timedelta(seconds=61))
    assert len(receiver.deliveries) == 1


def test_event_filter_and_flapping_suppression(team, receiver):
    only_recovered = webhook_channel(team, receiver, events=["recovered"])
    decided_event(team, key="flip:1", summary="a is down")
    decided_event(team, key="flip:2", type="recovered", summary="a recovered", data={"flapping": True})
    decided_event(team, key="flapping:1", type="flapping", summary="a is flapping: 6 changes in the last hour")
    decided_event(team, key="flip:3", type="recovered", summary="b recovered")
    deliver_due()
    assert [d.json["summary"] for d in receiver.deliveries] == ["b recovered"]
    assert Notification.objects.filter(channel=only_recovered, status=NotificationStatus.SUPPRESSED).count() == 1

    everything = webhook_channel(team, receiver, name="all")
    decided_event(team, key="flip:4", type="down", summary="c is down", data={"flapping": True})
    decided_event(team, key="flapping:2", type="flapping", summary="c is flapping")
    deliver_due()
    assert [d.json["summary"] for d in receiver.deliveries][1:] == ["c is flapping"]
    assert Notification.objects.filter(channel=everything, status=NotificationStatus.SENT).count() == 1


@pytest.mark.parametrize("answer, retry_after_s", [((503, {}), None), ((429, {"Retry-After": "42"}), 42)])
def test_transient_webhook_failures_are_retried_with_backoff(team, receiver, answer, retry_after_s):
    channel = webhook_channel(team, receiver)
    receiver.answer_next(answer[0], answer[1])
    decided_event(team)
    t0 = timezone.now()
    deliver_due(now=t0)
    first = _rows(channel)[0]
    assert first.status == NotificationStatus.RETRY and first.http_status == answer[0]
    wait = (first.next_attempt_at - t0).total_seconds()
    assert wait == retry_after_s if retry_after_s else 8 <= wait <= 12
    deliver_due(now=t0 + timedelta(seconds=wait - 1))
    assert len(receiver.deliveries) == 1
    deliver_due(now=t0 + timedelta(seconds=wait + 1))
    assert [(r.attempt, r.status) for r in _rows(channel)] == [(1, "failed"), (2, "sent")]
    ids = {d.headers["webhook-id"] for d in receiver.deliveries}
    assert len(receiver.deliveries) == 2 and len(ids) == 1 and receiver.deliveries[1].verified_by


def test_a_timeout_is_retried(team, receiver, monkeypatch):
    monkeypatch.setattr(webhook_notifier, "TIMEOUT_S", 0.3)
    channel = webhook_channel(team, receiver)
    receiver.answer_next(200, delay_s=1.0)
    decided_event(team)
    deliver_due()
    row = _rows(channel)[0]
    assert row.status == NotificationStatus.RETRY and row.error.startswith("Timed out")


def test_a_4xx_is_not_retried_and_keeps_the_channel(team, receiver):
    channel = webhook_channel(team, receiver)
    receiver.answer_next(422)
    decided_event(team)
    t0 = timezone.now()
    deliver_due(now=t0)
    deliver_due(now=t0 + timedelta(hours=1))
    assert [(r.attempt, r.status, r.http_status) for r in _rows(channel)] == [(1, "failed", 422)]
    channel.refresh_from_db()
    assert channel.enabled and channel.last_error == "HTTP 422"


def test_five_failed_attempts_disable_the_channel_and_email_admins_once(team, receiver):
    channel = webhook_channel(team, receiver)
    receiver.answer_next(500, times=5)
    decided_event(team)
    mail.outbox.clear()
    now = timezone.now()
    for _ in range(6):
        deliver_due(now=now)
        now += timedelta(minutes=6)
    assert [(r.attempt, r.status) for r in _rows(channel)] == [(n, "failed") for n in range(1, 6)]
    channel.refresh_from_db()
    assert not channel.enabled and channel.disabled_reason.startswith("5 attempts failed; last: HTTP 500")
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]  # the Admin, not the Developer or Viewer
    assert "turned off" in mail.outbox[0].subject


def test_webhook_410_disables_at_once(team, receiver):
    channel = webhook_channel(team, receiver)
    receiver.answer_next(410)
    decided_event(team)
    deliver_due()
    channel.refresh_from_db()
    assert not channel.enabled and "gone" in channel.disabled_reason


@pytest.mark.parametrize("blocked", [True, False])
def test_telegram_blocked_or_chat_not_found_disables_and_emails_admins(team, fake_telegram, blocked):
    channel = telegram_channel(team, fake_telegram)
    if blocked:
        fake_telegram.blocked_chats.add(CHAT_ID)
    else:
        fake_telegram.known_chats.discard(CHAT_ID)
    decided_event(team)
    mail.outbox.clear()
    deliver_due()
    deliver_due(now=timezone.now() + timedelta(hours=1))
    channel.refresh_from_db()
    expected = "Telegram 403: Forbidden: bot was blocked by the user" if blocked else "Telegram 400: Bad Request: chat not found"
    assert not channel.enabled and channel.disabled_reason == expected
    assert [(r.attempt, r.status) for r in _rows(channel)] == [(1, "failed")]
    assert len(mail.outbox) == 1 and expected in mail.outbox[0].body


def test_telegram_429_honours_retry_after_and_5xx_is_retried(team, fake_telegram):
    channel = telegram_channel(team, fake_telegram)
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    fake_telegram.fail_next("sendMessage", 502, "Bad Gateway")
    decided_event(team)
    t0 = timezone.now()
    deliver_due(now=t0)
    first = _rows(channel)[0]
    assert first.status == "retry" and first.next_attempt_at == t0 + timedelta(seconds=7)
    assert first.error == "Telegram 429: Too Many Requests: retry after 7"
    deliver_due(now=t0 + timedelta(seconds=8))
    deliver_due(now=t0 + timedelta(seconds=8 + 37))  # 30 s ± 20% after the 502
    assert [(r.attempt, r.status) for r in _rows(channel)] == [(1, "failed"), (2, "failed"), (3, "sent")]
    assert len(fake_telegram.messages_to(CHAT_ID)) == 1


def test_telegram_groups_what_happens_within_30_s_into_one_message(team, fake_telegram):
    channel = telegram_channel(team, fake_telegram)
    for n in range(3):
        decided_event(team, key=f"flip:{n}", summary=f"box-{n} is down")
    t0 = timezone.now()
    deliver_due(now=t0)
    texts = fake_telegram.messages_to(CHAT_ID)
    assert len(texts) == 1 and all(f"box-{n} is down" in texts[0] for n in range(3))
    assert sorted(r.status for r in _rows(channel)) == ["grouped", "grouped", "sent"]

    decided_event(team, key="flip:9", summary="box-9 is down")
    deliver_due(now=t0 + timedelta(seconds=10))
    assert len(fake_telegram.messages_to(CHAT_ID)) == 1  # still inside the 30 s window
    deliver_due(now=t0 + timedelta(seconds=31))
    later = fake_telegram.messages_to(CHAT_ID)
    assert len(later) == 2 and "box-9 is down" in later[1] and "box-0" not in later[1]


def test_telegram_sends_at_most_6_messages_a_minute_per_chat(team, fake_telegram):
    channel = telegram_channel(team, fake_telegram)
    t0 = timezone.now()
    for n in range(8):  # one message every 31 s would pass the window; the bucket still caps
        notify_channels(workspace=team["workspace"], message_key=f"rule:{n}", subject=f"m{n}", body="b")
        channel.refresh_from_db()
        channel.last_notify_at = None  # take the grouping window out of the picture
        channel.save(update_fields=["last_notify_at"])
        deliver_due(now=t0 + timedelta(seconds=n))
    assert len(fake_telegram.messages_to(CHAT_ID)) == 6
    waiting = Notification.objects.filter(channel=channel, status="pending").order_by("id").first()
    assert waiting is not None and waiting.next_attempt_at > t0 + timedelta(seconds=7)
    deliver_due(now=t0 + timedelta(seconds=70))
    assert len(fake_telegram.messages_to(CHAT_ID)) == 7  # the two late ones, grouped


def test_notify_channels_queues_once_per_channel_and_key(team, receiver):
    hook, email = webhook_channel(team, receiver), email_channel(team)
    kwargs = dict(workspace=team["workspace"], message_key="rule-run:5", subject="Cost cap", body="Stopped x")
    assert notify_channels(**kwargs) == 2
    assert notify_channels(**kwargs) == 0
    assert notify_channels(**kwargs | {"message_key": "rule-run:6"}, channel_ids=[hook.pk, "junk"]) == 1
    deliver_due()
    assert len(receiver.deliveries) == 2 and all(d.verified_by for d in receiver.deliveries)
    assert Notification.objects.filter(channel=email, status="sent").count() == 1
