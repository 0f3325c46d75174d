"""Recording an attempt: sent, retry later (exponential backoff with jitter, or exactly what the
receiver asked for), or failed; a permanent failure (or the 5th failed attempt) disables the
channel, and the workspace's Admins are emailed once — by the worker whose conditional UPDATE
switched the channel off."""

import logging
import random
from datetime import datetime, timedelta

from django.core.mail import send_mail

from accounts.models import Membership, Role
from automation.models import NotificationChannel, NotificationStatus
from automation.notifiers.base import Result, clip

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BASE_DELAY_S, MAX_DELAY_S = 10.0, 300.0
MAX_RETRY_AFTER_S = 3600.0
_rng = random.Random()


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Seconds before attempt `attempt + 1`: the receiver's Retry-After when given, else 10 s, 30 s,
    90 s, 270 s (capped at 5 min), each ±20% so channels that failed together do not retry together."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), MAX_RETRY_AFTER_S)
    base = min(MAX_DELAY_S, BASE_DELAY_S * 3 ** (attempt - 1))
    return _rng.uniform(0.8 * base, min(1.2 * base, MAX_DELAY_S))


def record(notification, channel, result: Result, *, duration_ms: float, now: datetime) -> None:
    notification.http_status, notification.error = result.http_status, "" if result.ok else clip(result.detail)
    notification.duration_ms, notification.next_attempt_at = duration_ms, None
    if result.ok:
        notification.status, notification.sent_at = NotificationStatus.SENT, now
    elif result.retryable and notification.attempt < MAX_ATTEMPTS and not notification.is_test:
        notification.status = NotificationStatus.RETRY
        notification.next_attempt_at = now + timedelta(seconds=retry_delay(notification.attempt, result.retry_after))
    else:
        notification.status = NotificationStatus.FAILED
    notification.save(update_fields=["status", "sent_at", "http_status", "error", "duration_ms", "next_attempt_at"])
    _update_channel(channel, result, duration_ms=duration_ms, now=now, is_test=notification.is_test)
    if _gives_up(notification, result):
        disable(channel, _reason(notification, result))


def _gives_up(notification, result: Result) -> bool:
    if notification.is_test or result.ok:
        return False
    return result.permanent or (result.retryable and notification.attempt >= MAX_ATTEMPTS)


def _reason(notification, result: Result) -> str:
    if result.permanent:
        return clip(result.detail)
    return clip(f"{MAX_ATTEMPTS} attempts failed; last: {result.detail}")


def _update_channel(channel, result: Result, *, duration_ms: float, now: datetime, is_test: bool) -> None:
    if result.ok:
        fields = {"last_error": ""} if is_test else {"last_error": "", "last_notify_at": now,
                                                     "last_notify_duration_ms": duration_ms}
    else:
        fields = {"last_error": clip(result.detail)}
    NotificationChannel.objects.filter(pk=channel.pk).update(**fields)
    for name, value in fields.items():
        setattr(channel, name, value)


def disable(channel, reason: str) -> bool:
    """Switch the channel off; True (and the Admins emailed) only for the worker that did it."""
    switched = NotificationChannel.objects.filter(pk=channel.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:300])
    if switched:
        channel.enabled, channel.disabled_reason = False, reason[:300]
        logger.warning("Disabled notification channel %s: %s", channel.pk, reason)
        _email_admins(channel, reason)
    return bool(switched)


def _email_admins(channel, reason: str) -> None:
    admins = Membership.objects.filter(workspace_id=channel.workspace_id, role=Role.ADMIN).select_related("user")
    addresses = sorted({m.user.email for m in admins if m.user.email})
    if not addresses:
        return
    subject = f"[ComputeHub] Notification channel “{channel.name}” was turned off"
    body = (f"ComputeHub stopped sending to the {channel.get_kind_display()} channel “{channel.name}” because "
            f"delivery failed permanently:\n\n{reason}\n\nFix the destination, then switch the channel back on "
            "on the Notification channels page and press “Send test”.")
    try:
        send_mail(subject, body, None, addresses, fail_silently=False)
    except Exception:  # the channel stays off either way; the page shows why
        logger.exception("Could not email the Admins about disabled channel %s", channel.pk)
