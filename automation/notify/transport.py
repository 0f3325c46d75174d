"""One attempt through the channel's notifier, with its secret decrypted only for the call."""

import logging
import time

from automation.models import ChannelKind
from automation.notifiers import email, telegram, webhook
from automation.notifiers.base import Message, Result
from automation.notify import secrets
from computehub.crypto import DecryptionError

logger = logging.getLogger(__name__)


def message_of(notification) -> Message:
    return Message(subject=notification.subject, body=notification.body, payload=notification.payload,
                   message_id=notification.message_id)


def send(channel, message: Message) -> tuple[Result, float]:
    """(Result, duration in ms). Never raises for a delivery problem: the Result says what happened."""
    started = time.monotonic()
    try:
        result = _dispatch(channel, message)
    except DecryptionError:
        logger.error("Notification channel %s: stored secret cannot be decrypted", channel.pk)
        result = Result.refused("The stored secret cannot be decrypted; recreate this channel.", permanent=True)
    return result, (time.monotonic() - started) * 1000


def _dispatch(channel, message: Message) -> Result:
    if channel.kind == ChannelKind.EMAIL:
        return email.send(channel, message)
    if channel.kind == ChannelKind.TELEGRAM:
        return telegram.send(channel, message, secrets.bot_token(channel))
    if channel.kind == ChannelKind.WEBHOOK:
        return webhook.send(channel, message, secrets.webhook_secrets(channel))
    return Result.refused(f"Unknown channel kind {channel.kind!r}.", permanent=True)
