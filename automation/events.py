"""Writing to the automation outbox. Whoever observes a fact emits it with a key naming the fact;
a second observer (another worker, a retried loop) emitting the same key writes nothing."""

from django.db import IntegrityError, transaction

from automation.models import AutomationEvent


def event_emit(*, workspace, type: str, dedup_key: str, summary: str, deployment=None,
               data: dict | None = None) -> AutomationEvent | None:
    """The new event, or None when an event with `dedup_key` already exists."""
    try:
        with transaction.atomic():
            return AutomationEvent.objects.create(
                workspace=workspace, deployment=deployment, type=type, dedup_key=dedup_key[:200],
                summary=summary[:300], data=data or {})
    except IntegrityError:
        return None
