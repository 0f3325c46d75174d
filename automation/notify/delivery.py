"""Sending what is due: first attempts (pending), and retries whose time has come (each retry is
a new Notification row, attempt + 1, inserted uniquely so two workers cannot both send it).

A worker claims a pending row by moving its `next_attempt_at` a lease ahead with a conditional
UPDATE; if it dies mid-send, the row is due again when the lease ends. Telegram: what is due for
one chat within 30 s of the last message goes out as ONE message when the window ends, and every
message takes a token from the chat's bucket (6 a minute)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from automation.models import ChannelKind, Notification, NotificationChannel, NotificationStatus
from automation.notify import messages, outcomes, ratelimit, transport

LEASE = timedelta(seconds=60)
GROUP_WINDOW = timedelta(seconds=30)
MAX_GROUP = 20
DISABLED_NOTE = "Not sent: the channel is turned off."


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def spawn_retries(*, now: datetime, limit: int) -> int:
    """For each failed attempt whose retry is due, queue the next attempt (once)."""
    spawned = 0
    due = Notification.objects.filter(status=NotificationStatus.RETRY, next_attempt_at__lte=now,
                                      channel__enabled=True).order_by("next_attempt_at")[:limit]
    for failed in due:
        spawned += _spawn(failed)
        Notification.objects.filter(pk=failed.pk, status=NotificationStatus.RETRY).update(
            status=NotificationStatus.FAILED, next_attempt_at=None)
    return spawned


def _spawn(failed: Notification) -> int:
    try:
        with transaction.atomic():
            Notification.objects.create(
                channel_id=failed.channel_id, workspace_id=failed.workspace_id, event_id=failed.event_id,
                message_key=failed.message_key, message_id=failed.message_id, attempt=failed.attempt + 1,
                status=NotificationStatus.PENDING, subject=failed.subject, body=failed.body, payload=failed.payload)
        return 1
    except IntegrityError:  # another worker queued this attempt
        return 0


def drop_for_disabled(*, limit: int = 200) -> None:
    stuck = Notification.objects.filter(status__in=[NotificationStatus.PENDING, NotificationStatus.RETRY],
                                        channel__enabled=False, is_test=False).values_list("pk", flat=True)[:limit]
    Notification.objects.filter(pk__in=list(stuck)).update(status=NotificationStatus.FAILED, error=DISABLED_NOTE,
                                                          next_attempt_at=None)


def _claim(rows: list[Notification], now: datetime) -> list[Notification]:
    claimed = []
    for row in rows:
        mine = Notification.objects.filter(pk=row.pk, status=NotificationStatus.PENDING,
                                           next_attempt_at=row.next_attempt_at)
        if mine.update(next_attempt_at=now + LEASE):
            claimed.append(row)
    return claimed


def _pending(channel, now: datetime, limit: int) -> list[Notification]:
    return list(Notification.objects.filter(channel=channel, status=NotificationStatus.PENDING, is_test=False)
                .filter(_due(now)).order_by("created_at", "id")[:limit])


def _in_group_window(channel, now: datetime) -> bool:
    return channel.last_notify_at is not None and now - channel.last_notify_at < GROUP_WINDOW


def deliver_channel(channel, *, now: datetime) -> int:
    """Send what is due for one channel; returns how many attempts were made."""
    if channel.kind != ChannelKind.TELEGRAM:
        rows = _claim(_pending(channel, now, 10), now)
        for row in rows:
            _attempt(row, channel, now)
        return len(rows)
    if _in_group_window(channel, now):
        return 0
    rows = _claim(_pending(channel, now, MAX_GROUP), now)
    if rows:
        _attempt_telegram_group(rows, channel, now)
    return min(len(rows), 1)


def _attempt(row: Notification, channel, now: datetime) -> None:
    result, duration_ms = transport.send(channel, transport.message_of(row))
    outcomes.record(row, channel, result, duration_ms=duration_ms, now=now)


def _attempt_telegram_group(rows: list[Notification], channel, now: datetime) -> None:
    wait_s = ratelimit.take_telegram(channel, now=now)
    if wait_s > 0:  # over 6 a minute: stay pending until a token is back
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
            next_attempt_at=now + timedelta(seconds=wait_s))
        return
    lead, others = rows[0], rows[1:]
    if others:
        lead.subject, lead.body = messages.grouped([(row.subject, row.body) for row in rows])
        lead.save(update_fields=["subject", "body"])
        Notification.objects.filter(pk__in=[row.pk for row in others]).update(
            status=NotificationStatus.GROUPED, next_attempt_at=None, error=f"Sent in one message with #{lead.pk}.")
    _attempt(lead, channel, now)


def send_due(*, now: datetime, limit: int = 20) -> int:
    drop_for_disabled()
    spawn_retries(now=now, limit=limit)
    channel_ids = (Notification.objects.filter(status=NotificationStatus.PENDING, is_test=False, channel__enabled=True)
                   .filter(_due(now)).order_by().values_list("channel_id", flat=True).distinct()[:limit])
    attempts = 0
    for channel in NotificationChannel.objects.filter(pk__in=list(channel_ids)):
        attempts += deliver_channel(channel, now=now)
    return attempts
