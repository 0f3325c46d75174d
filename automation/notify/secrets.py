"""A channel's secret at rest: the Telegram bot token, or the webhook signing secrets, encrypted
with computehub.crypto and bound to the row (moved to another row or workspace, it no longer
decrypts). Webhook secrets are a JSON list, newest first; a rotated-out secret keeps signing
until its `until` (24 h), so receivers can switch over without dropping a message."""

import json
from datetime import datetime, timedelta

from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from computehub import crypto

SECRET_FIELD = "secret"
ROTATION_OVERLAP = timedelta(hours=24)


def channel_aad(channel) -> str:
    return crypto.aad_for("automation.notificationchannel", SECRET_FIELD, channel.workspace_id, channel.pk)


@sensitive_variables("token")
def store_token(channel, token: str) -> None:
    channel.secret = crypto.encrypt(token, aad=channel_aad(channel))
    channel.secret_last4 = crypto.last4(token)


def bot_token(channel) -> str:
    return crypto.decrypt(channel.secret, aad=channel_aad(channel)) if channel.secret else ""


def _entries(channel) -> list[dict]:
    if not channel.secret:
        return []
    return json.loads(crypto.decrypt(channel.secret, aad=channel_aad(channel)))


@sensitive_variables("secret", "entries")
def store_webhook_secret(channel, secret: str, *, now: datetime | None = None) -> None:
    """Make `secret` the signing secret; the previous one stays valid for ROTATION_OVERLAP."""
    now = now or timezone.now()
    entries = [{"secret": secret, "until": None}]
    previous = [entry for entry in _entries(channel) if _valid(entry, now)][:1]
    entries += [{"secret": entry["secret"], "until": (now + ROTATION_OVERLAP).isoformat()} for entry in previous]
    channel.secret = crypto.encrypt(json.dumps(entries), aad=channel_aad(channel))
    channel.secret_last4 = crypto.last4(secret)


def _valid(entry: dict, now: datetime) -> bool:
    return entry.get("until") is None or datetime.fromisoformat(entry["until"]) > now


def webhook_secrets(channel, *, now: datetime | None = None) -> list[str]:
    """The secrets that sign now, newest first (two during a rotation)."""
    now = now or timezone.now()
    return [entry["secret"] for entry in _entries(channel) if _valid(entry, now)]
