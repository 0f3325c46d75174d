"""What every operation kind shares: writing the operation under its lease, scheduling its next
step, timeline notes on both deployments, and finishing (the outcome on the timeline, an outbox
event so people are told, the rule run that started it closed)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from automation.events import event_emit
from automation.models import EventType, Operation, OperationState, RuleRun, RunOutcome
from deployments.models import Deployment, EventKind
from deployments.services import event_record
from providers.models import provider_display_name

FINISHED = (OperationState.DONE, OperationState.ROLLED_BACK, OperationState.FAILED)
RULE_RUN_OUTCOME = {OperationState.DONE: RunOutcome.DONE, OperationState.ROLLED_BACK: RunOutcome.FAILED,
                    OperationState.FAILED: RunOutcome.FAILED}


class LeaseLost(Exception):
    """Another worker took the operation over (this one was too slow): stop touching it."""


def params(op: Operation) -> dict:
    return op.data.get("params") or {}


def poll_s() -> float:
    return float(getattr(settings, "COMPUTEHUB_OPERATION_POLL_S", 2.0))


def launch_timeout_s() -> float:
    return float(getattr(settings, "COMPUTEHUB_MIGRATION_TIMEOUT_S", 900))


def save(op: Operation, **fields) -> None:
    """UPDATE only while this worker still holds the lease (a conditional write, never a blind one)."""
    if not Operation.objects.filter(pk=op.pk, lease_owner=op.lease_owner).update(**fields):
        raise LeaseLost(op.pk)
    for name, value in fields.items():
        setattr(op, name, value)


def save_data(op: Operation, **changes) -> None:
    save(op, data={**op.data, **changes})


def wait(op: Operation, state: str | None = None, *, after_s: float | None = None, **fields) -> None:
    """Look again after `after_s` (default: the poll interval), optionally in a new state."""
    delay = poll_s() if after_s is None else after_s
    changes = {"next_step_at": timezone.now() + timedelta(seconds=delay), **fields}
    if state is not None:
        changes["state"] = state
    save(op, **changes)


def deadline_from_now() -> timezone.datetime:
    return timezone.now() + timedelta(seconds=launch_timeout_s())


def past_deadline(op: Operation) -> bool:
    return op.deadline is not None and timezone.now() >= op.deadline


def note(deployment: Deployment | None, op: Operation, message: str, **data) -> None:
    """One plain-words line on the deployment's timeline (also the audit log)."""
    if deployment is not None:
        event_record(deployment=deployment, kind=EventKind.AUTOMATION, message=message,
                     data={"operation": op.pk, "kind": op.kind, **data})


def note_both(op: Operation, message: str, **data) -> None:
    note(op.source, op, message, **data)
    note(op.replacement, op, message, **data)


def where(deployment: Deployment) -> str:
    """"RunPod $1.60/h"."""
    return f"{provider_display_name(deployment.provider)} ${deployment.price_per_hour:.2f}/h"


def finish(op: Operation, state: str, message: str, *, urgent: bool = False) -> None:
    """End the operation: timeline notes, an `action` (or `urgent`) event for people, the rule run
    closed. The event's key names the operation, so a retried finish tells nobody twice."""
    save(op, state=state, finished_at=timezone.now(), next_step_at=None,
         data={**op.data, "outcome": message})
    note_both(op, message, state=state)
    subject = op.replacement if state == OperationState.DONE and op.replacement else op.source
    event_emit(workspace=op.source.workspace, type=EventType.URGENT if urgent else EventType.ACTION,
               dedup_key=f"operation:{op.pk}:{state}", summary=message, deployment=subject,
               data={"operation_id": op.pk, "kind": op.kind, "state": state,
                     "replacement_id": str(op.replacement_id) if op.replacement_id else None})
    if op.rule_run_id:
        RuleRun.objects.filter(pk=op.rule_run_id, outcome=RunOutcome.PENDING).update(
            outcome=RULE_RUN_OUTCOME[state], detail=message[:500])
