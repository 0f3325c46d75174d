"""From events to queued messages: each notifiable event becomes one first attempt per subscribed
channel, once the rules engine has decided about it (so the message can say what automation did)
or after 60 s whatever the engine does.

Exactly once per channel, however many workers run this: the first attempt's insert is unique on
(channel, message_key, attempt), so a second worker's insert fails and is ignored; `notified_at`
is set only after the inserts, so a worker dying midway leaves the event to be fanned out again
(the unique insert makes that harmless)."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from automation.models import AutomationEvent, ChannelKind, EventType, Notification, NotificationChannel
from automation.models import NotificationStatus
from automation.notify import messages

ENGINE_GRACE = timedelta(seconds=60)
# Per-rule triggers and internal ticks: the rule that owns them says what it did (its notify
# action); `still_down` repeats every few minutes for the engine, `reminder` is the 4-hourly one.
NOT_NOTIFIED = {EventType.STILL_DOWN, EventType.IDLE, EventType.SCHEDULE, EventType.PRICE_CHANGE}
# What a channel may usefully subscribe to: cost_threshold events always belong to one rule too.
SUBSCRIBABLE = [(value, label) for value, label in EventType.choices
                if value not in NOT_NOTIFIED and value != EventType.COST_THRESHOLD]
FLAPPING_NOTE = "Suppressed: the deployment is flapping; one flapping notice is sent instead."


def event_message_key(event) -> str:
    return f"event:{event.pk}"


def queue_one(*, channel, message_key: str, subject: str, body: str, payload: dict | None = None, event=None,
              status: str = NotificationStatus.PENDING, error: str = "") -> Notification | None:
    """The first attempt of a message to `channel`, or None when it was already queued."""
    message_id = messages.new_message_id()
    try:
        with transaction.atomic():
            return Notification.objects.create(
                channel=channel, workspace_id=channel.workspace_id, event=event, message_key=message_key[:120],
                message_id=message_id, attempt=1, status=status, subject=subject[:200], body=body,
                payload={**(payload or {}), "id": message_id}, error=error)
    except IntegrityError:
        return None


def wants(channel, event_type: str) -> bool:
    return not channel.events or event_type in channel.events


def deliverable(channel) -> bool:
    """A Telegram channel without a linked chat has nowhere to send yet."""
    return channel.kind != ChannelKind.TELEGRAM or bool(channel.config.get("chat_id"))


def subscribed_channels(event) -> list:
    channels = NotificationChannel.objects.filter(workspace_id=event.workspace_id, enabled=True)
    return [channel for channel in channels if wants(channel, event.type) and deliverable(channel)]


def is_notifiable(event) -> bool:
    # Events made for one rule (data.rule_id) and actions taken because of another event
    # (data.event_id, told in that event's message) are not separate messages.
    data = event.data or {}
    return event.type not in NOT_NOTIFIED and "rule_id" not in data and "event_id" not in data


def _fan_out_one(event) -> int:
    if not is_notifiable(event):
        return 0
    automation = messages.automation_lines(event)
    subject, body = messages.event_subject(event), messages.event_body(event, automation)
    suppressed = bool((event.data or {}).get("flapping"))
    created = 0
    for channel in subscribed_channels(event):
        payload = messages.event_payload(event, "") | {"automation": automation}
        row = queue_one(channel=channel, message_key=event_message_key(event), subject=subject, body=body,
                        payload=payload, event=event,
                        status=NotificationStatus.SUPPRESSED if suppressed else NotificationStatus.PENDING,
                        error=FLAPPING_NOTE if suppressed else "")
        created += int(row is not None and not suppressed)
    return created


def fan_out(*, now: datetime, limit: int = 100) -> int:
    """Queue messages for up to `limit` events; returns how many messages were queued."""
    ready = Q(processed_at__isnull=False) | Q(created_at__lte=now - ENGINE_GRACE)
    events = (AutomationEvent.objects.filter(notified_at__isnull=True).filter(ready)
              .select_related("workspace", "deployment").order_by("id")[:limit])
    created = 0
    for event in events:
        created += _fan_out_one(event)
        AutomationEvent.objects.filter(pk=event.pk, notified_at__isnull=True).update(notified_at=now)
    return created
