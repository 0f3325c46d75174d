"""The notify lane: fan events out to channels, send what is due, link pending Telegram chats.

`deliver_due()` runs every second in `manage.py autopilot` (several processes may run it at once:
every step claims its rows with unique inserts or conditional UPDATEs) and does bounded work."""

from datetime import datetime

from django.utils import timezone

from automation.notify import delivery, fanout, linking


def deliver_due(*, now: datetime | None = None, limit: int = 20) -> int:
    """Returns the messages queued plus the attempts made this call."""
    now = now or timezone.now()
    queued = fanout.fan_out(now=now, limit=limit * 5)
    attempts = delivery.send_due(now=now, limit=limit)
    linking.poll_pending()
    return queued + attempts
