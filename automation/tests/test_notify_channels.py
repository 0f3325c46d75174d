"""Channels through the API: field errors with nothing stored, secrets shown once (never the bot
token), Telegram linked only by a valid signed /start, "Send test" showing the exact result,
signing-secret rotation with two signatures, and the delivery log."""

import logging
import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.fakes.fixtures import BOT_TOKEN, BOT_USERNAME, fake_telegram, receiver  # noqa: F401
from automation.fakes.fixtures import _telegram_server, _webhook_server  # noqa: F401
from automation.models import Notification, NotificationChannel
from automation.notifiers import email as email_notifier
from automation.notify import deliver_due, linking, secrets
from automation.tests.factories_notify import CHAT_ID, decided_event, telegram_channel, webhook_channel

URL = "/api/v1/notification-channels/"


def _fields(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


@pytest.mark.parametrize("body, field", [
    ({"kind": "email", "addresses": ["not-an-email"]}, "addresses"),
    ({"kind": "email", "addresses": []}, "addresses"),
    ({"kind": "email", "addresses": [f"u{n}@example.com" for n in range(11)]}, "addresses"),
    ({"kind": "webhook", "url": "ftp://example.com/hook"}, "url"),
    ({"kind": "webhook", "url": "http://169.254.169.254/latest/"}, "url"),
    ({"kind": "webhook", "url": "http://10.0.0.5/hook"}, "url"),
    ({"kind": "webhook", "url": "https://hooks.example.com/", "addresses": ["a@example.com"]}, "addresses"),
    ({"kind": "email", "addresses": ["a@example.com"], "events": ["nope"]}, "events"),
    ({"kind": "email", "addresses": ["a@example.com"], "events": ["down", "still_down"]}, "events"),  # never sent
    ({"kind": "telegram", "bot_token": "123456:not-a-real-token-at-all-0000"}, "bot_token"),
    ({"kind": "telegram", "bot_token": "hello"}, "bot_token"),
    ({"kind": "sms"}, "kind"),
])
def test_bad_input_is_a_field_error_and_nothing_is_stored(developer_api, fake_telegram, settings, body, field):
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = False
    assert field in _fields(developer_api.post(URL, body, format="json"))
    assert not NotificationChannel.objects.exists()


def test_a_token_the_bot_api_rejects_is_named_and_never_echoed(developer_api, fake_telegram):
    token = "999999:AAAA-unknown-token-CANARY-1234567"
    response = developer_api.post(URL, {"kind": "telegram", "bot_token": token}, format="json")
    assert "Telegram rejected this bot token" in _fields(response)["bot_token"][0]
    assert token not in response.content.decode() and fake_telegram.calls == ["getMe"]


def test_email_channel_round_trip(developer_api):
    response = developer_api.post(URL, {"kind": "email", "addresses": ["Ops@Example.com", "ops@example.com", "b@example.com"],
                              "events": ["down", "recovered"]}, format="json")
    assert response.status_code == 201, response.content
    channel = response.json()
    assert channel["config"] == {"addresses": ["ops@example.com", "b@example.com"]} and channel["name"] == "ops@example.com"
    assert channel["signing_secret"] is None
    patched = developer_api.patch(f"{URL}{channel['id']}/", {"events": [], "name": "On-call"}, format="json").json()
    assert patched["events"] == [] and patched["name"] == "On-call"
    assert developer_api.delete(f"{URL}{channel['id']}/").status_code == 204


def test_webhook_secret_is_shown_once_and_signs(developer_api, receiver):
    created = developer_api.post(URL, {"kind": "webhook", "url": receiver.url}, format="json").json()
    secret = created["signing_secret"]
    assert secret.startswith("whsec_") and created["secret_last4"] == secret[-4:]
    for response in (developer_api.get(URL), developer_api.get(f"{URL}{created['id']}/")):
        assert secret not in response.content.decode() and "signing_secret" not in str(response.json())
    receiver.secrets.append(secret)
    result = developer_api.post(f"{URL}{created['id']}/test/").json()
    assert result["ok"] and result["detail"] == "HTTP 200" and receiver.deliveries[0].verified_by == [secret]
    assert receiver.deliveries[0].json["type"] == "test"


def test_rotation_signs_with_both_secrets_for_24_hours(developer_api, team, receiver):
    channel = webhook_channel(team, receiver)
    old = receiver.secrets[0]
    rotated = developer_api.post(f"{URL}{channel.pk}/rotate-secret/").json()
    new = rotated["signing_secret"]
    assert new != old and rotated["secret_last4"] == new[-4:]
    receiver.secrets[:] = [new]
    developer_api.post(f"{URL}{channel.pk}/test/")
    receiver.secrets[:] = [old]
    developer_api.post(f"{URL}{channel.pk}/test/")
    assert [d.verified_by for d in receiver.deliveries] == [[new], [old]]
    assert len(receiver.deliveries[0].headers["webhook-signature"].split()) == 2
    channel.refresh_from_db()
    assert secrets.webhook_secrets(channel, now=timezone.now() + timedelta(hours=25)) == [new]


def test_rotate_is_for_webhooks_only(developer_api, team):
    channel = NotificationChannel.objects.create(workspace=team["workspace"], kind="email", name="e",
                                                 config={"addresses": ["a@example.com"]})
    assert developer_api.post(f"{URL}{channel.pk}/rotate-secret/").status_code == 400


def test_telegram_is_linked_only_by_a_valid_signed_start(developer_api, fake_telegram):
    created = developer_api.post(URL, {"kind": "telegram", "bot_token": BOT_TOKEN}, format="json").json()
    assert BOT_TOKEN not in str(created) and created["name"] == f"@{BOT_USERNAME}"
    link = created["link_url"]
    assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=") and not created["config"]["linked"]
    good = link.split("start=")[1]
    forged = good[:40] + ("0" * 24 if good[40:] != "0" * 24 else "1" * 24)
    fake_telegram.press_start(BOT_TOKEN, 5550001, forged, title="Mallory")
    linking._last_poll.clear()
    deliver_due()
    assert not developer_api.get(f"{URL}{created['id']}/").json()["config"]["linked"]
    fake_telegram.press_start(BOT_TOKEN, CHAT_ID, good, title="Ops team")
    linking._last_poll.clear()
    deliver_due()
    detail = developer_api.get(f"{URL}{created['id']}/").json()
    assert detail["config"] == {"bot_username": BOT_USERNAME, "linked": True, "chat_title": "Ops team"}
    assert detail["link_url"] is None and fake_telegram.messages_to(CHAT_ID)[0].startswith("Linked")
    assert fake_telegram.messages_to(5550001) == []


def test_an_expired_link_token_is_refused(team):
    channel = NotificationChannel(workspace=team["workspace"], kind="telegram")
    token = linking.start_token(channel, now=timezone.now() - timedelta(hours=25))
    assert linking.channel_id_from(token) is None
    assert linking.channel_id_from(linking.start_token(channel)) == channel.pk


def test_send_test_shows_the_exact_result_and_is_not_retried(developer_api, team, fake_telegram, receiver):
    hook = webhook_channel(team, receiver)
    receiver.answer_next(503)
    assert developer_api.post(f"{URL}{hook.pk}/test/").json() == {
        "ok": False, "detail": "HTTP 503", "http_status": 503, "notification": Notification.objects.get().pk}
    deliver_due(now=timezone.now() + timedelta(hours=1))
    assert len(receiver.deliveries) == 1 and Notification.objects.get().status == "failed"

    tg = telegram_channel(team, fake_telegram)
    fake_telegram.blocked_chats.add(CHAT_ID)
    result = developer_api.post(f"{URL}{tg.pk}/test/").json()
    assert result["detail"] == "Telegram 403: Forbidden: bot was blocked by the user" and not result["ok"]
    tg.refresh_from_db()
    assert tg.enabled  # a test never switches a channel off


def test_send_test_shows_the_smtp_error(developer_api, team, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam")

    monkeypatch.setattr(email_notifier, "send_mail", refuse)
    channel = NotificationChannel.objects.create(workspace=team["workspace"], kind="email", name="e",
                                                 config={"addresses": ["a@example.com"]})
    result = developer_api.post(f"{URL}{channel.pk}/test/").json()
    assert result["detail"] == "SMTP error 554: 5.7.1 Message rejected as spam" and not result["ok"]


def test_switching_a_disabled_channel_back_on_clears_the_reason(developer_api, team):
    channel = NotificationChannel.objects.create(workspace=team["workspace"], kind="email", name="e", enabled=False,
                                                 disabled_reason="5 attempts failed", config={"addresses": ["a@x.io"]})
    body = developer_api.patch(f"{URL}{channel.pk}/", {"enabled": True}, format="json").json()
    assert body["enabled"] and body["disabled_reason"] == ""
    assert "url" in _fields(developer_api.patch(f"{URL}{channel.pk}/", {"url": "https://x.io/"}, format="json"))


def test_delivery_log_filters_and_keeps_secrets_out(developer_api, team, receiver, fake_telegram, caplog):
    caplog.set_level(logging.DEBUG)
    hook, tg = webhook_channel(team, receiver), telegram_channel(team, fake_telegram)
    receiver.answer_next(500)
    decided_event(team)
    deliver_due()
    log = developer_api.get("/api/v1/notifications/", {"channel": str(hook.pk)}).json()["results"]
    assert [(r["attempt"], r["status"], r["http_status"]) for r in log] == [(1, "retry", 500)]
    assert developer_api.get("/api/v1/notifications/", {"status": "sent"}).json()["count"] == 1
    assert developer_api.get("/api/v1/notifications/", {"channel": "nope"}).status_code == 400
    everything = [str(row.__dict__) for row in Notification.objects.all()]
    everything += [developer_api.get(URL).content.decode(), developer_api.get("/api/v1/notifications/").content.decode(), caplog.text]
    for secret in (BOT_TOKEN, receiver.secrets[0], receiver.secrets[0].removeprefix("whsec_")):
        assert all(secret not in text for text in everything)
    assert tg.secret and BOT_TOKEN not in tg.secret
