"""Multi-step automation that survives a worker dying half-way (migrate, failover, refill, cap stop).

`start_operation` writes the Operation row (the unique constraint allows one unfinished operation
per deployment, whoever calls at the same time) and takes its first step; `advance_operations`
(every 2 s in the autopilot) claims due operations with a lease, like the reconciler's, takes one
step each and releases them. A worker that dies holds an operation only until its lease expires;
every step finds what an earlier worker already did on the row (`replacement`, `state`, `data`)."""

import importlib
import logging
import os
import socket
import uuid
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from automation.models import Operation, OperationKind

logger = logging.getLogger(__name__)

# Steps only write rows (the reconciler makes the provider calls), so they take well under this.
LEASE_S = 120
RETRY_AFTER_ERROR_S = 30
KIND_MODULES = {OperationKind.MIGRATE: "migrate", OperationKind.FAILOVER: "failover",
                OperationKind.REFILL: "refill", OperationKind.CAP_STOP: "cap_stop"}


def kind_module(kind: str):
    """Imported when used: cap_stop comes from another area, and one missing must not stop the rest."""
    return importlib.import_module(f"automation.orchestration.{KIND_MODULES[kind]}")


def new_owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def start_operation(*, kind: str, source, reason: str, rule_run=None, params: dict | None = None) -> Operation | None:
    """The new operation after its first step, or None when `source` already has an unfinished one.
    It is created already leased, so no other worker advances it before its first step is taken."""
    if kind not in KIND_MODULES:
        raise ValueError(f"Unknown operation kind {kind!r}")
    owner = new_owner()
    try:
        with transaction.atomic():
            op = Operation.objects.create(
                workspace_id=source.workspace_id, kind=kind, source=source, reason=str(reason)[:300],
                rule_run=rule_run, data={"params": dict(params or {})}, lease_owner=owner,
                lease_until=timezone.now() + timedelta(seconds=LEASE_S))
    except IntegrityError:
        return None
    _step(op, "begin")
    return Operation.objects.get(pk=op.pk)


def advance_operations(limit: int = 50) -> int:
    """One step for each due operation this worker manages to claim; returns how many it stepped."""
    stepped = 0
    for op_id in list(_due().values_list("pk", flat=True)[:limit]):
        owner = new_owner()
        if not claim(op_id, owner):
            continue  # another worker has it
        op = Operation.objects.select_related("source__workspace", "replacement").get(pk=op_id)
        if op.finished_at is None:
            _step(op, "advance")
            stepped += 1
        else:
            release(op_id, owner)
    return stepped


def _due():
    now = timezone.now()
    return (Operation.objects.filter(finished_at__isnull=True)
            .filter(Q(next_step_at__isnull=True) | Q(next_step_at__lte=now))
            .filter(_free(now)).order_by("next_step_at", "pk"))


def _free(now) -> Q:
    return Q(lease_owner="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim(op_id, owner: str) -> bool:
    now = timezone.now()
    return Operation.objects.filter(_free(now), pk=op_id, finished_at__isnull=True).update(
        lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_S)) == 1


def release(op_id, owner: str) -> None:
    Operation.objects.filter(pk=op_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def _step(op: Operation, step: str) -> None:
    """Run the kind's `begin` or `advance`, then release; a bug is logged and retried later rather
    than stopping the lane (a worker that dies here releases nothing: its lease runs out)."""
    from automation.orchestration.base import LeaseLost

    try:
        getattr(kind_module(op.kind), step)(op)
    except LeaseLost:
        logger.warning("Operation %s was taken over by another worker mid-step", op.pk)
        return
    except Exception:
        logger.exception("Operation %s (%s) failed a step; retrying later", op.pk, op.kind)
        Operation.objects.filter(pk=op.pk, lease_owner=op.lease_owner).update(
            next_step_at=timezone.now() + timedelta(seconds=RETRY_AFTER_ERROR_S))
    release(op.pk, op.lease_owner)
