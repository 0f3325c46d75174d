"""The cost meter: spend_usd grows by price_per_hour for every hour the deployment is observed
running. Called when the reconciler observes a running deployment, on every status change away
from running (so a stop freezes the figure at that moment), and every minute by the autopilot.
Each accrual is a conditional UPDATE on the `spend_accrued_at` it read, so two workers accruing
at once never count the same interval twice. The worker whose UPDATE won also adds the amount
to the per-day ledger (automation.models.SpendDay) in the same transaction, so workspace totals per
UTC day and month are sums of ledger rows that always agree with the deployments' own figures."""

from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from automation.models import SpendDay
from deployments.models import Deployment, Status

SECONDS_PER_HOUR = 3600.0
_TRIES = 3  # a lost race means another worker just accrued; re-reading settles it at once


def meter_start(row: Deployment):
    """Where the unbilled interval begins: the last accrual, but never before the current run
    (the time it was stopped in between is not billed)."""
    marks = [mark for mark in (row.spend_accrued_at, row.running_since) if mark is not None]
    return max(marks) if marks else None


def _accrue_once(row: Deployment, now) -> float | None:
    """Bill `row` (as read) up to `now`; None when another writer moved the meter first."""
    start = meter_start(row)
    if start is not None and now <= start:
        return 0.0  # the meter is already at (or past) now
    # No start at all (running, but never stamped): only set the mark, bill from here on.
    amount = 0.0 if start is None else row.price_per_hour * (now - start).total_seconds() / SECONDS_PER_HOUR
    previous = {"spend_accrued_at__isnull": True} if row.spend_accrued_at is None else {
        "spend_accrued_at": row.spend_accrued_at}
    with transaction.atomic():
        updated = Deployment.objects.filter(pk=row.pk, status=Status.RUNNING, **previous).update(
            spend_usd=F("spend_usd") + amount, spend_accrued_at=now)
        if updated and amount > 0:
            _ledger_add(row, start, now)
    return amount if updated else None


def day_slices(start, end) -> list[tuple]:
    """[(UTC day, seconds of [start, end) in that day)], split at each UTC midnight."""
    slices, cursor = [], start.astimezone(dt_timezone.utc)
    end = end.astimezone(dt_timezone.utc)
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time.min, tzinfo=dt_timezone.utc)
        stop = min(end, midnight)
        slices.append((cursor.date(), (stop - cursor).total_seconds()))
        cursor = stop
    return slices


def _ledger_add(row: Deployment, start, end) -> None:
    """Only the worker whose meter UPDATE won gets here, holding that row's lock until commit, so
    no two writers add the same interval; an interval across midnight is split between the days."""
    for day, seconds in day_slices(start, end):
        usd = row.price_per_hour * seconds / SECONDS_PER_HOUR
        if not SpendDay.objects.filter(deployment_id=row.pk, day=day).update(usd=F("usd") + usd):
            _ledger_create(row, day, usd)


def _ledger_create(row: Deployment, day, usd: float) -> None:
    try:
        with transaction.atomic():
            SpendDay.objects.create(workspace_id=row.workspace_id, deployment_id=row.pk, day=day, usd=usd)
    except IntegrityError:  # created meanwhile (the first accrual of a day racing the meter's lock)
        SpendDay.objects.filter(deployment_id=row.pk, day=day).update(usd=F("usd") + usd)


def _fresh(deployment_id) -> Deployment | None:
    return (Deployment.objects.filter(pk=deployment_id)
            .only("pk", "workspace_id", "status", "price_per_hour", "spend_accrued_at", "running_since").first())


def deployment_accrue_spend(*, deployment, now=None) -> float:
    """Add what `deployment` cost since the meter last moved, if it is running; returns the amount."""
    now = now or timezone.now()
    for _ in range(_TRIES):
        row = _fresh(deployment.pk)
        if row is None or row.status != Status.RUNNING:
            return 0.0  # not running: nothing accrues (the move away from running billed up to it)
        amount = _accrue_once(row, now)
        if amount is not None:
            return amount
    return 0.0


def accrue_running_spend(now=None) -> int:
    """The autopilot's minute job: move the meter of every running deployment; returns how many."""
    now = now or timezone.now()
    ids = list(Deployment.objects.filter(status=Status.RUNNING).values_list("pk", flat=True))
    for deployment_id in ids:
        deployment_accrue_spend(deployment=Deployment(pk=deployment_id), now=now)
    return len(ids)
