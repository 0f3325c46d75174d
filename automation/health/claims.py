"""Claiming due checks and writing their results, in batches (the checker's database side).

A claim is ONE conditional UPDATE for a batch: each row's `next_check_at` moves on from its own
scheduled time by whole intervals (never from "now", so the cadence does not drift), only where
it is still due, and RETURNING tells which rows this checker got; a second checker racing for
the same rows gets none of them. Results whose state stays the same are written with one bulk
UPDATE; state changes go through the conditional path of automation.services.health."""

import logging
import math
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from automation.health.probes import ProbeResult
from automation.health.targets import Target, target_for
from automation.models import HealthCheck
from automation.selectors.health import health_check_for
from automation.services import health as machine
from deployments.models import Deployment, DesiredState, Status

logger = logging.getLogger(__name__)


def next_time(scheduled: datetime, interval_s: int, now: datetime) -> datetime:
    """The next slot on the check's own grid: scheduled + k·interval, the first after `now`."""
    steps = max(1, math.floor((now - scheduled).total_seconds() / interval_s) + 1)
    return scheduled + timedelta(seconds=steps * interval_s)


# What the probe and the state machine read of a deployment (its other columns are large JSON).
DEPLOYMENT_FIELDS = ("workspace_id", "name", "provider", "desired_state", "status", "attempts", "last_error",
                     "public_ip", "ssh_host", "port_map", "instance_id", "ports")


def _due(now: datetime):
    """Polled twice a second, so a range scan of the next_check_at index only (rows created
    without a time get one from ensure_checks)."""
    return HealthCheck.objects.filter(enabled=True, next_check_at__lte=now).order_by("next_check_at")


def _claim_sql(count: int) -> str:
    table = connection.ops.quote_name(HealthCheck._meta.db_table)
    cast = "CAST(%s AS timestamp with time zone)" if connection.vendor == "postgresql" else "%s"
    cases = " ".join(f"WHEN %s THEN {cast}" for _ in range(count))
    ids = ", ".join(["%s"] * count)
    return (f"UPDATE {table} SET next_check_at = CASE id {cases} END "
            f"WHERE id IN ({ids}) AND next_check_at <= {cast} RETURNING id")


def claim_due(*, now: datetime, limit: int) -> list[int]:
    """Ids of up to `limit` due checks, now claimed by this caller for this round."""
    rows = list(_due(now).values_list("pk", "next_check_at", "interval_s")[:limit])
    if not rows:
        return []
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []
    for pk, scheduled, interval_s in rows:
        params += [pk, adapt(next_time(scheduled, max(1, interval_s), now))]
    params += [pk for pk, _, _ in rows] + [adapt(now)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_claim_sql(len(rows)), params)
        return [row[0] for row in cursor.fetchall()]


def load(ids: list[int]) -> list[tuple[HealthCheck, Target]]:
    """The claimed checks with their deployments, and what each probes."""
    checks = (HealthCheck.objects.filter(pk__in=ids).select_related("deployment")
              .only(*(f.name for f in HealthCheck._meta.concrete_fields), *(f"deployment__{n}" for n in DEPLOYMENT_FIELDS)))
    return [(check, target_for(check, check.deployment)) for check in checks]


def claim_batch(*, now: datetime, limit: int) -> list[tuple[HealthCheck, Target]]:
    ids = claim_due(now=now, limit=limit)
    return load(ids) if ids else []


def write_results(done: list[tuple[HealthCheck, ProbeResult | None, datetime]]) -> int:
    """Apply a batch of (check, result, when the probe finished); result None: the deployment was
    not probed. Returns how many checks changed state."""
    unchanged, followups, flips = [], [], 0
    _retire_gone([check for check, _, _ in done])
    for check, result, now in done:
        plan = _plan(check, result, now)
        if plan.new_state:
            flips += _apply_one(check, plan, now)
            continue
        previous = _remember_then_update(check, plan, unchanged)
        if result is not None:
            followups.append((check, previous, result, now))
    if unchanged:
        bulk_write(unchanged)
    for check, previous, result, now in followups:
        _guarded(machine.health_followups, check=check, previous=previous, result=result, now=now)
    return flips


def _plan(check: HealthCheck, result: ProbeResult | None, now: datetime) -> machine.Plan:
    if result is None:
        return machine.plan_pause(check, stopped=check.deployment.desired_state != DesiredState.RUNNING)
    return machine.plan_result(check, result, now)


def _remember_then_update(check: HealthCheck, plan: machine.Plan, unchanged: list) -> machine.Snapshot:
    """Set the plan's fields on the check in memory and queue it for the bulk write, keeping what
    it was before (the follow-ups compare) and the `checks` count read (the write's condition)."""
    previous = machine.Snapshot(check.state, check.state_changed_at, check.last_checked_at,
                                check.unreachable_alerted_at)
    unchanged.append((check, check.checks))
    for name, value in plan.fields.items():
        setattr(check, name, value)
    return previous


def _retire_gone(checks: list[HealthCheck]) -> None:
    """A deleted deployment whose instance is confirmed gone is never probed again."""
    gone = [c.pk for c in checks
            if c.deployment.desired_state == DesiredState.DELETED and c.deployment.status == Status.TERMINATED]
    if gone:
        HealthCheck.objects.filter(pk__in=gone).update(enabled=False)


def _bulk_sql() -> str:
    table = connection.ops.quote_name(HealthCheck._meta.db_table)
    columns = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in machine.RESULT_FIELDS)
    return f"UPDATE {table} SET {columns} WHERE id = %s AND state = %s AND checks = %s"


def bulk_write(rows: list[tuple[HealthCheck, int]]) -> None:
    """One prepared UPDATE executed for many rows (Django's bulk_update builds a CASE per row
    and field, far too slow at 10,000 rows per 30 s). Still conditional on the row as read, so
    a row someone else moved on meanwhile is left alone."""
    datetime_value = connection.ops.adapt_datetimefield_value
    params = []
    for check, read_checks in rows:
        values = [getattr(check, name) for name in machine.RESULT_FIELDS]
        values = [datetime_value(v) if isinstance(v, datetime) else v for v in values]
        params.append([*values, check.pk, check.state, read_checks])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(_bulk_sql(), params)


def _apply_one(check: HealthCheck, plan: machine.Plan, now: datetime) -> int:
    flip = _guarded(machine.health_apply, check=check, plan=plan, now=now)
    return 1 if flip not in (False, None) else 0


def _guarded(function, **kwargs):
    """One check's trouble (a deployment deleted meanwhile, a bad row) must not stop the batch."""
    try:
        return function(**kwargs)
    except Exception:
        logger.exception("health check %s: applying a result failed", kwargs["check"].pk)
        return False


def ensure_checks(*, limit: int = 500, now: datetime | None = None) -> int:
    """Every deployment meant to run gets a check (created with its default probe), and every
    check a first time."""
    HealthCheck.objects.filter(next_check_at__isnull=True).update(next_check_at=now or timezone.now())
    missing = (Deployment.objects.filter(desired_state=DesiredState.RUNNING, health__isnull=True)
               .select_related("template")[:limit])
    created = 0
    for deployment in missing:
        health_check_for(deployment=deployment)
        created += 1
    return created
