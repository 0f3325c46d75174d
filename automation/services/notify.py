"""Writes for notification channels, the "Send test" button and `notify_channels` for rule actions.

Everything is validated before anything is stored: a bad address, an internal webhook URL or a
bot token Telegram rejects is a field error and no row. Secrets (bot token, webhook signing
secret) are encrypted at rest; the webhook secret is returned once, by create and rotate, and
from then on only its last 4 characters are shown."""

import logging
import re
import uuid
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from automation import netguard
from automation.models import ChannelKind, EventType, Notification, NotificationChannel
from automation.notifiers import telegram, webhook
from automation.notifiers.base import Result
from automation.notify import fanout, linking, messages, outcomes, ratelimit, secrets, transport
from computehub.errors import ApplicationError

logger = logging.getLogger(__name__)

MAX_ADDRESSES = 10
BOT_TOKEN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,80}")
KIND_FIELDS = {ChannelKind.EMAIL: {"addresses"}, ChannelKind.TELEGRAM: {"bot_token"}, ChannelKind.WEBHOOK: {"url"}}
COMMON_FIELDS = {"kind", "name", "events", "enabled"}


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="validation_error", fields={field: [message]})


def clean_name(name, default: str) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if len(name) > 80:
        raise _invalid("name", "At most 80 characters.")
    return name or default[:80]


def clean_events(events) -> list[str]:
    if events in (None, ""):
        return []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise _invalid("events", "A list of event types.")
    unknown = sorted(set(events) - set(EventType.values))
    if unknown:
        raise _invalid("events", f"Unknown event type(s): {', '.join(unknown)}.")
    sendable = {value for value, _ in fanout.SUBSCRIBABLE}
    never_sent = sorted(set(events) - sendable)
    if never_sent:
        raise _invalid("events", f"Never sent to channels (a rule's notify action reports them): "
                                 f"{', '.join(never_sent)}. Choose from {', '.join(sorted(sendable))}.")
    return sorted(set(events))


def clean_addresses(addresses) -> list[str]:
    if isinstance(addresses, str):
        addresses = re.split(r"[\s,;]+", addresses)
    if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
        raise _invalid("addresses", "A list of email addresses.")
    cleaned = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    if not 1 <= len(cleaned) <= MAX_ADDRESSES:
        raise _invalid("addresses", f"Enter between 1 and {MAX_ADDRESSES} email addresses.")
    bad = [a for a in cleaned if not _is_email(a)]
    if bad:
        raise _invalid("addresses", f"Not a valid email address: {', '.join(bad[:3])}.")
    return cleaned


def _is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def clean_url(url) -> str:
    try:
        return netguard.validate_url(url if isinstance(url, str) else "")
    except netguard.OutboundRefused as refused:
        raise _invalid("url", str(refused)) from None


@sensitive_variables("token")
def checked_bot(token) -> dict:
    """Telegram's getMe for this token, or a field error; never echoes the token."""
    token = token.strip() if isinstance(token, str) else ""
    if not BOT_TOKEN.fullmatch(token):
        raise _invalid("bot_token", "Paste the token @BotFather gave you (it looks like 123456:ABC-DEF…).")
    try:
        bot = telegram.get_me(token)
    except netguard.OutboundRefused as refused:
        raise _invalid("bot_token", f"The Telegram API address is refused: {refused}") from None
    except telegram.TelegramUnavailable as exc:
        raise _invalid("bot_token", f"Could not check the token with Telegram: {exc}") from None
    if bot is None or not bot.get("username"):
        raise _invalid("bot_token", "Telegram rejected this bot token (getMe failed). Check it with @BotFather.")
    return bot


def _reject_foreign_fields(kind: str, data: dict) -> None:
    allowed = COMMON_FIELDS | KIND_FIELDS[kind]
    foreign = sorted(set(data) - allowed)
    if foreign:
        raise ApplicationError("These fields do not apply to this kind of channel.", code="validation_error",
                               fields={name: ["Not used by this kind of channel."] for name in foreign})


def _kind(value) -> str:
    if value not in ChannelKind.values:
        raise _invalid("kind", f"Choose one of: {', '.join(ChannelKind.values)}.")
    return value


@sensitive_variables("data", "secret")
def channel_create(*, workspace, user, data: dict) -> tuple[NotificationChannel, str | None]:
    """(the channel, the webhook signing secret to show once — None for other kinds)."""
    kind = _kind(data.get("kind"))
    _reject_foreign_fields(kind, data)
    channel = NotificationChannel(workspace=workspace, kind=kind, created_by=user,
                                  events=clean_events(data.get("events")), enabled=data.get("enabled", True) is not False)
    secret = _configure_new(channel, data)
    channel.save(force_insert=True)
    logger.info("Created %s notification channel %s", kind, channel.pk)
    return channel, secret


@sensitive_variables("data", "secret")
def _configure_new(channel, data: dict) -> str | None:
    if channel.kind == ChannelKind.EMAIL:
        channel.config = {"addresses": clean_addresses(data.get("addresses"))}
        channel.name = clean_name(data.get("name"), channel.config["addresses"][0])
        return None
    if channel.kind == ChannelKind.WEBHOOK:
        channel.config = {"url": clean_url(data.get("url"))}
        channel.name = clean_name(data.get("name"), urlsplit(channel.config["url"]).hostname or "Webhook")
        secret = webhook.new_secret()
        secrets.store_webhook_secret(channel, secret)
        return secret
    name = clean_name(data.get("name"), "Telegram")  # validated before the token leaves the server
    bot = checked_bot(data.get("bot_token"))
    channel.config = {"bot_id": bot.get("id"), "bot_username": bot["username"]}
    channel.name = name if data.get("name") else f"@{bot['username']}"
    secrets.store_token(channel, data["bot_token"].strip())
    return None


def channel_update(*, channel, data: dict) -> NotificationChannel:
    _reject_foreign_fields(channel.kind, data)
    if "kind" in data and data["kind"] != channel.kind:
        raise _invalid("kind", "The kind of a channel cannot change; create a new channel.")
    if "bot_token" in data:
        raise _invalid("bot_token", "To use another bot, create a new channel.")
    if "name" in data:
        channel.name = clean_name(data["name"], channel.name)
    if "events" in data:
        channel.events = clean_events(data["events"])
    if "addresses" in data:
        channel.config = {**channel.config, "addresses": clean_addresses(data["addresses"])}
    if "url" in data:
        channel.config = {**channel.config, "url": clean_url(data["url"])}
    if "enabled" in data:
        _set_enabled(channel, data["enabled"])
    channel.save()
    return channel


def _set_enabled(channel, enabled) -> None:
    if not isinstance(enabled, bool):
        raise _invalid("enabled", "Must be true or false.")
    channel.enabled = enabled
    if enabled:  # switched back on by a person: forget why it was off
        channel.disabled_reason, channel.last_error = "", ""


def channel_delete(*, channel) -> None:
    channel.delete()


@sensitive_variables("secret")
def channel_rotate_secret(*, channel) -> str:
    """A new signing secret, returned once; the previous one keeps signing for 24 h."""
    if channel.kind != ChannelKind.WEBHOOK:
        raise ApplicationError("Only webhook channels have a signing secret.", code="not_webhook")
    secret = webhook.new_secret()
    with transaction.atomic():
        locked = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        secrets.store_webhook_secret(locked, secret)
        locked.save(update_fields=["secret", "secret_last4"])
    channel.secret, channel.secret_last4 = locked.secret, locked.secret_last4
    return secret


def _test_message(channel, user) -> tuple[str, str, dict]:
    who = f" by {user.email}" if user is not None and getattr(user, "email", "") else ""
    subject = f"[{channel.workspace.name}] Test notification"
    body = f"This is a test of the {channel.get_kind_display()} channel “{channel.name}”, sent{who} from ComputeHub."
    payload = {"type": "test", "timestamp": timezone.now().isoformat(), "summary": "Test notification",
               "workspace": {"id": str(channel.workspace_id), "slug": channel.workspace.slug,
                             "name": channel.workspace.name},
               "deployment": None, "data": {}, "automation": []}
    return subject, body, payload


def channel_send_test(*, channel, user=None) -> tuple[Notification, Result]:
    """Deliver a test message now, once (never retried, never disables the channel)."""
    subject, body, payload = _test_message(channel, user)
    message_id = messages.new_message_id()
    row = Notification.objects.create(
        channel=channel, workspace_id=channel.workspace_id, message_key=f"test:{uuid.uuid4().hex}",
        message_id=message_id, is_test=True, subject=subject, body=body, payload={**payload, "id": message_id})
    now = timezone.now()
    result, duration_ms = _test_result(channel, row, now)
    outcomes.record(row, channel, result, duration_ms=duration_ms, now=now)
    return row, result


def _test_result(channel, row, now) -> tuple[Result, float]:
    if channel.kind == ChannelKind.TELEGRAM:
        if not channel.config.get("chat_id"):
            return Result.refused("Not linked yet: open the link, press Start in Telegram, then “Check link”."), 0.0
        wait_s = ratelimit.take_telegram(channel, now=now)
        if wait_s > 0:
            return Result.refused(f"Rate limited: at most 6 messages a minute to this chat; try in {wait_s:.0f} s."), 0.0
    return transport.send(channel, transport.message_of(row))


def telegram_link_check(*, channel) -> bool:
    """Look for this channel's /start now (the page's "Check link"); True when it is linked."""
    if channel.kind != ChannelKind.TELEGRAM:
        raise ApplicationError("Only Telegram channels are linked to a chat.", code="not_telegram")
    if channel.config.get("chat_id"):
        return True
    try:
        linking.poll_bot(channel)
    except (telegram.TelegramUnavailable, netguard.OutboundRefused) as exc:
        raise ApplicationError(f"Could not check with Telegram: {exc}", code="telegram_unavailable",
                               status=400) from None
    channel.refresh_from_db()
    return bool(channel.config.get("chat_id"))


def _uuids(values) -> list[uuid.UUID]:
    """Channel ids as given by a rule's action; anything that is not a UUID names no channel."""
    found = []
    for value in values:
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


def notify_channels(*, workspace, channel_ids=None, message_key: str, subject: str, body: str, event=None,
                    payload: dict | None = None) -> int:
    """Queue one message per enabled channel of `workspace` (or the listed ones); the notify lane
    delivers it. Idempotent per (channel, message_key). Returns how many were queued."""
    channels = NotificationChannel.objects.filter(workspace=workspace, enabled=True)
    if channel_ids is not None:
        channels = channels.filter(pk__in=_uuids(channel_ids))
    elif event is not None:
        channels = [c for c in channels if fanout.wants(c, event.type)]
    base = payload or {"type": event.type if event else "message", "summary": subject, "data": {},
                       "timestamp": timezone.now().isoformat(), "workspace": {"id": str(workspace.pk),
                       "slug": workspace.slug, "name": workspace.name}, "deployment": None, "automation": []}
    queued = [fanout.queue_one(channel=channel, message_key=message_key, subject=subject, body=body,
                               payload=base, event=event) for channel in channels if fanout.deliverable(channel)]
    return sum(1 for row in queued if row is not None)
