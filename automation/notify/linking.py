"""Linking a Telegram chat without anyone typing a chat id (reliability.md §2.4).

The channel page shows `https://t.me/<bot>?start=<token>`; the token names the channel and is
signed (HMAC of SECRET_KEY, 24 h validity), 64 characters of [0-9a-f] as Telegram's `start`
parameter allows. The person presses Start, Telegram delivers "/start <token>" to the bot, and
the notify lane (or the page's "Check link" button) reads the bot's updates and stores that
chat's id for the channel the token names — only when the signature holds."""

import hmac
import logging
import time
import uuid
from datetime import datetime

from django.utils import timezone
from django.utils.crypto import salted_hmac

from automation.models import ChannelKind, NotificationChannel
from automation.notifiers import telegram
from automation.notify import secrets
from automation import netguard

logger = logging.getLogger(__name__)

SALT = "computehub.automation.telegram-link"
MAX_AGE_S = 24 * 3600
POLL_EVERY_S = 5.0
_last_poll: dict[str, float] = {}  # bot id → monotonic time of this process's last getUpdates


def _signature(channel_hex: str, stamp: str) -> str:
    return salted_hmac(SALT, f"{channel_hex}{stamp}", algorithm="sha256").hexdigest()[:24]


def start_token(channel, *, now: datetime | None = None) -> str:
    stamp = f"{int((now or timezone.now()).timestamp()):08x}"
    return f"{channel.pk.hex}{stamp}{_signature(channel.pk.hex, stamp)}"


def link_url(channel, *, now: datetime | None = None) -> str:
    return f"https://t.me/{channel.config.get('bot_username', '')}?start={start_token(channel, now=now)}"


def channel_id_from(token: str, *, now: datetime | None = None) -> uuid.UUID | None:
    """The channel a valid, unexpired token names; None for anything else."""
    if len(token) != 64 or any(c not in "0123456789abcdef" for c in token):
        return None
    channel_hex, stamp, signature = token[:32], token[32:40], token[40:]
    if not hmac.compare_digest(signature, _signature(channel_hex, stamp)):
        return None
    age = (now or timezone.now()).timestamp() - int(stamp, 16)
    return uuid.UUID(channel_hex) if -300 <= age <= MAX_AGE_S else None


def pending_channels():
    return NotificationChannel.objects.filter(kind=ChannelKind.TELEGRAM, enabled=True).exclude(
        config__has_key="chat_id")


def _start_payload(update: dict) -> tuple[str, dict] | None:
    message = update.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return None
    text = message.get("text") or ""
    if not isinstance(text, str) or not text.startswith("/start "):
        return None
    return text.split(" ", 1)[1].strip(), message["chat"]


def _chat_title(chat: dict) -> str:
    return str(chat.get("title") or chat.get("username") or chat.get("first_name") or chat.get("id"))[:80]


def _link(channel_id, bot_id, chat: dict) -> NotificationChannel | None:
    channel = pending_channels().filter(pk=channel_id).first()
    if channel is None or channel.config.get("bot_id") != bot_id or not isinstance(chat.get("id"), int):
        return None
    channel.config.update(chat_id=chat["id"], chat_title=_chat_title(chat), linked_at=timezone.now().isoformat())
    NotificationChannel.objects.filter(pk=channel.pk).update(config=channel.config)
    logger.info("Linked Telegram channel %s to a chat", channel.pk)
    return channel


def poll_bot(channel, *, now: datetime | None = None) -> list[NotificationChannel]:
    """Read `channel`'s bot updates once; link every channel a valid /start names. Returns them."""
    token, bot_id = secrets.bot_token(channel), channel.config.get("bot_id")
    updates = telegram.get_updates(token, channel.config.get("update_offset"))
    linked = []
    for update in updates:
        start = _start_payload(update)
        channel_id = channel_id_from(start[0], now=now) if start else None
        target = _link(channel_id, bot_id, start[1]) if channel_id else None
        if target is not None:
            linked.append(target)
            telegram.send_text(token, start[1]["id"], f"Linked: ComputeHub notifications for “{target.name}” come here.")
    if updates:
        _confirm(channel, max(u["update_id"] for u in updates if isinstance(u.get("update_id"), int)) + 1)
    return linked


def _confirm(channel, offset: int) -> None:
    """Remember the next update to ask for, on a fresh read: the poll may have just linked this
    very channel, and writing the stale config back would undo the link."""
    fresh = NotificationChannel.objects.get(pk=channel.pk)
    fresh.config["update_offset"] = offset
    NotificationChannel.objects.filter(pk=channel.pk).update(config=fresh.config)
    channel.config = fresh.config


def poll_pending(*, limit: int = 5) -> int:
    """Poll each bot with a pending channel at most every 5 s (per process); returns links made."""
    linked, polled = 0, 0
    for channel in pending_channels().order_by("-created_at"):
        bot = str(channel.config.get("bot_id"))
        if polled >= limit or time.monotonic() - _last_poll.get(bot, -POLL_EVERY_S) < POLL_EVERY_S:
            continue
        _last_poll[bot], polled = time.monotonic(), polled + 1
        try:
            linked += len(poll_bot(channel))
        except (telegram.TelegramUnavailable, netguard.OutboundRefused, ValueError) as exc:
            logger.warning("Telegram link check for channel %s failed: %s", channel.pk, exc)
    return linked
