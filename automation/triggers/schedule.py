"""`schedule`: cron rules. Each rule keeps its next fire time in `Rule.next_fire_at` (computed in
the rule's time zone, stored in UTC). When it is due, one worker claims it by moving
`next_fire_at` forward with a conditional update and emits the event (key: rule + fire time).
The next time is computed from now, so a run missed long ago (the autopilot was down) fires
once, not once per missed slot. A changed cron or time zone is noticed by the signature kept in
`Rule.state["schedule"]`, and the next time recomputed."""

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.db import transaction
from django.utils import timezone

from automation.models import EventType, Rule, Trigger
from automation.triggers.common import emit_once, rules_batch, safely

logger = logging.getLogger(__name__)


class BadSchedule(ValueError):
    pass


def next_fire_time(cron: str, tz_name: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` names in `tz_name`, in UTC."""
    try:
        zone = ZoneInfo(tz_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise BadSchedule(f"unknown time zone {tz_name!r}") from error
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        raise BadSchedule(f"cron {cron!r} does not parse")
    return croniter(cron, after.astimezone(zone)).get_next(datetime).astimezone(UTC)


def evaluate_schedule_rules(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(safely(_checked_step, rule, now) for rule in rules_batch(Trigger.SCHEDULE))


def _checked_step(rule: Rule, now: datetime) -> bool:
    try:
        return _step(rule, now)
    except BadSchedule as error:  # saved rules are validated; this is one edited behind the service's back
        logger.warning("schedule rule %s skipped: %s", rule.pk, error)
        return False


def _signature(rule: Rule) -> str:
    params = rule.trigger_params or {}
    return f"{params.get('cron')}|{params.get('timezone') or 'UTC'}"


def _step(rule: Rule, now: datetime) -> bool:
    params = rule.trigger_params or {}
    cron, tz_name = params.get("cron"), params.get("timezone") or "UTC"
    recorded = (rule.state or {}).get("schedule")
    if rule.next_fire_at is None or (recorded is not None and recorded != _signature(rule)):
        _arm(rule, next_fire_time(cron, tz_name, now))  # new, or its cron changed behind our back
        return False
    if recorded is None:
        _arm(rule, rule.next_fire_at)  # armed when saved: keep that time, remember what it was for
    if rule.next_fire_at > now:
        return False
    return _fire(rule, next_fire_time(cron, tz_name, now), now)


def _arm(rule: Rule, first: datetime) -> None:
    state = {**(rule.state or {}), "schedule": _signature(rule)}
    if Rule.objects.filter(pk=rule.pk, next_fire_at=rule.next_fire_at, state=rule.state).update(
            next_fire_at=first, state=state):
        rule.next_fire_at, rule.state = first, state


def _fire(rule: Rule, following: datetime, now: datetime) -> bool:
    due = rule.next_fire_at
    with transaction.atomic():
        if not Rule.objects.filter(pk=rule.pk, next_fire_at=due).update(next_fire_at=following):
            return False  # another worker fired this slot
        late_s = round((now - due).total_seconds())
        summary = f"Schedule “{rule.name}” ({rule.trigger_params.get('cron')})"
        return emit_once(
            workspace=rule.workspace, deployment=rule.deployment, type=EventType.SCHEDULE,
            dedup_key=f"schedule:{rule.pk}:{due.isoformat()}", summary=summary,
            data={"rule_id": rule.pk, "scheduled_for": due.isoformat(), "late_s": late_s,
                  "cron": rule.trigger_params.get("cron"), "timezone": rule.trigger_params.get("timezone") or "UTC",
                  "next_fire_at": following.isoformat()})
