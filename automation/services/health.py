"""The health state machine. A result changes the counters; the state changes only after
`failures_to_down` failures (down) or `successes_to_up` successes (up) in a row; unknown changes
neither counter. Every write is a conditional UPDATE on the row as the caller read it (its state
and its `checks` count, which grows with every result), so a second checker holding the same
stale row changes nothing and a state change makes exactly one Flip and one event."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from automation.events import event_emit
from automation.health.probes import FAIL, OK, UNKNOWN, ProbeResult
from automation.models import AutomationEvent, EventType, Flip, HealthCheck, HealthState, ProbeKind
from computehub.errors import ApplicationError
from deployments.models import EventKind
from deployments.services import event_record

REMINDER_S = 4 * 3600
UNREACHABLE_AFTER_S = 600
FLAPPING_FLIPS = 5
FLAPPING_WINDOW = timedelta(hours=1)
# The columns a result writes when the state stays: what the checker updates in bulk.
RESULT_FIELDS = ["consecutive_failures", "consecutive_successes", "last_result", "last_error", "last_latency_ms",
                 "last_checked_at", "checks", "unknown_since"]


def still_down_s() -> int:
    return int(getattr(settings, "COMPUTEHUB_STILL_DOWN_S", 180))


@dataclass
class Plan:
    """What applying one result writes: `fields`, and `new_state` when the state changes."""

    fields: dict = field(default_factory=dict)
    new_state: str | None = None
    reason: str = ""


def _counters(check: HealthCheck, result: ProbeResult, now: datetime) -> dict:
    failures, successes = check.consecutive_failures, check.consecutive_successes
    if result.outcome == OK:
        failures, successes = 0, successes + 1
    elif result.outcome == FAIL:
        failures, successes = failures + 1, 0
    unknown_since = (check.unknown_since or now) if result.outcome == UNKNOWN else None
    return {"consecutive_failures": failures, "consecutive_successes": successes, "last_result": result.outcome,
            "last_error": result.error[:300], "last_latency_ms": result.latency_ms, "last_checked_at": now,
            "checks": check.checks + 1, "unknown_since": unknown_since}


def _successes_needed(check: HealthCheck) -> int:
    """A fresh deployment answering once is up (people wait for that after a launch); coming back
    from down or unknown takes `successes_to_up` in a row, so one lucky answer is not a recovery."""
    return 1 if check.state == HealthState.NEW else check.successes_to_up


def plan_result(check: HealthCheck, result: ProbeResult, now: datetime) -> Plan:
    fields = _counters(check, result, now)
    if result.outcome == FAIL and fields["consecutive_failures"] >= check.failures_to_down \
            and check.state != HealthState.DOWN:
        reason = f"down after {fields['consecutive_failures']} failed checks ({result.error})"
        return Plan(fields, HealthState.DOWN, reason)
    if result.outcome == OK and fields["consecutive_successes"] >= _successes_needed(check) \
            and check.state != HealthState.UP:
        verb = "up again" if check.state == HealthState.DOWN else "up"
        return Plan(fields, HealthState.UP, f"{verb} after {fields['consecutive_successes']} successful checks")
    return Plan(fields)


def plan_pause(check: HealthCheck, *, stopped: bool) -> Plan:
    """Not probed: a start or stop is under way (state kept), or the deployment is not meant to
    run (state back to new, so its stopped time is neither up nor down)."""
    fields = {"consecutive_failures": 0, "consecutive_successes": 0, "unknown_since": None}
    if stopped and check.state != HealthState.NEW:
        return Plan(fields, HealthState.NEW, "monitoring paused: the deployment is not meant to run")
    return Plan(fields)


def _claim_row(check: HealthCheck, fields: dict) -> bool:
    """The conditional UPDATE: only if nobody applied a result or changed the state since we read."""
    return bool(HealthCheck.objects.filter(pk=check.pk, state=check.state, checks=check.checks).update(**fields))


def health_apply(*, check: HealthCheck, plan: Plan, now: datetime) -> Flip | None | bool:
    """Write `plan`; False when the row moved on since it was read. On a state change: the Flip,
    its event and a timeline entry, all in one transaction (returned: the Flip)."""
    fields = dict(plan.fields)
    if plan.new_state:
        fields |= {"state": plan.new_state, "state_changed_at": now}
    with transaction.atomic():
        if not _claim_row(check, fields):
            return False
        old_state = check.state
        for name, value in fields.items():
            setattr(check, name, value)
        return _flip(check, old_state, plan, now) if plan.new_state else None


def health_apply_result(*, check: HealthCheck, result: ProbeResult, now: datetime | None = None) -> bool:
    """Apply one probe result (and the periodic events it makes due). False: someone else did."""
    now = now or timezone.now()
    previous = _snapshot(check)
    if health_apply(check=check, plan=plan_result(check, result, now), now=now) is False:
        return False
    health_followups(check=check, previous=previous, result=result, now=now)
    return True


# --- flips ----------------------------------------------------------------------------------------


def _flapping(check: HealthCheck, now: datetime) -> bool:
    real = [HealthState.UP, HealthState.DOWN]
    return Flip.objects.filter(health_check=check, old_state__in=real, new_state__in=real,
                               created_at__gt=now - FLAPPING_WINDOW).count() >= FLAPPING_FLIPS


def _flip(check: HealthCheck, old_state: str, plan: Plan, now: datetime) -> Flip:
    deployment = check.deployment
    flip = Flip.objects.create(health_check=check, deployment=deployment, old_state=old_state,
                               new_state=plan.new_state, reason=plan.reason[:300], created_at=now)
    if plan.new_state == HealthState.NEW:  # a pause: history for uptime, nothing to tell
        return flip
    flapping = _flapping(check, now)
    event_record(deployment=deployment, kind=EventKind.AUTOMATION, message=f"Health: {plan.reason}",
                 data={"flip_id": flip.pk, "from": old_state, "to": plan.new_state, "flapping": flapping})
    _emit_flip_event(check, flip, flapping)
    if flapping:
        _emit_flapping(check, flip, now)
    return flip


def _emit_flip_event(check: HealthCheck, flip: Flip, flapping: bool) -> None:
    if flip.new_state == HealthState.UP and flip.old_state != HealthState.DOWN:
        return  # new → up: the first good news is not news
    down = flip.new_state == HealthState.DOWN
    name = check.deployment.name
    data = {"flip_id": flip.pk, "health_check_id": check.pk, "reason": flip.reason,
            "failures": check.consecutive_failures, "last_error": check.last_error}
    if flapping:
        data["flapping"] = True
    event_emit(workspace=check.deployment.workspace, deployment=check.deployment,
               type=EventType.DOWN if down else EventType.RECOVERED, dedup_key=f"flip:{flip.pk}",
               summary=f"{name} is down: {check.last_error}" if down else f"{name} recovered", data=data)


def _emit_flapping(check: HealthCheck, flip: Flip, now: datetime) -> None:
    """At most once an hour. Flips of one check are serialised by the conditional UPDATE, so the
    look-up of the last notice and the insert cannot race."""
    last = AutomationEvent.objects.filter(deployment=check.deployment, type=EventType.FLAPPING).order_by("-id").first()
    if last is not None and datetime.fromisoformat(last.data.get("at", "1970-01-01T00:00:00+00:00")) > now - FLAPPING_WINDOW:
        return
    event_emit(workspace=check.deployment.workspace, deployment=check.deployment, type=EventType.FLAPPING,
               dedup_key=f"flapping:{check.pk}:{flip.pk}",
               summary=f"{check.deployment.name} is flapping: {FLAPPING_FLIPS} or more state changes in an hour",
               data={"flip_id": flip.pk, "health_check_id": check.pk, "at": now.isoformat()})
    event_record(deployment=check.deployment, kind=EventKind.AUTOMATION,
                 message="Health: flapping (5 or more changes within an hour); single flips are not notified")


# --- periodic events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The row as read before a result: what decides whether a periodic event just became due."""

    state: str
    state_changed_at: datetime | None
    last_checked_at: datetime | None
    unreachable_alerted_at: datetime | None


def _snapshot(check: HealthCheck) -> Snapshot:
    return Snapshot(check.state, check.state_changed_at, check.last_checked_at, check.unreachable_alerted_at)


def health_followups(*, check: HealthCheck, previous: Snapshot, result: ProbeResult, now: datetime) -> None:
    """still_down / reminder while down, unreachable after 10 minutes of unknown."""
    if check.state == HealthState.DOWN and previous.state == HealthState.DOWN:
        _down_events(check, previous, result, now)
    if result.outcome == UNKNOWN and check.unknown_since is not None:
        _unreachable(check, now)


def _periods(since: datetime, at: datetime | None, every_s: int) -> int:
    return int((at - since).total_seconds() // every_s) if at and at > since else 0


def _down_events(check: HealthCheck, previous: Snapshot, result: ProbeResult, now: datetime) -> None:
    since = check.state_changed_at
    due = []
    # still_down lets automation act again; only a failed probe (never unknown) confirms it.
    n = _periods(since, now, still_down_s())
    if result.outcome == FAIL and n > _periods(since, previous.last_checked_at, still_down_s()):
        due.append((EventType.STILL_DOWN, "still_down", n))
    m = _periods(since, now, REMINDER_S)
    if m > _periods(since, previous.last_checked_at, REMINDER_S):
        due.append((EventType.REMINDER, "reminder", m))
    if due:
        _emit_down_events(check, due, int((now - since).total_seconds()))


def _emit_down_events(check: HealthCheck, due: list, down_for_s: int) -> None:
    flip = Flip.objects.filter(health_check=check, new_state=HealthState.DOWN).order_by("-created_at", "-id").first()
    if flip is None:
        return
    minutes = max(1, down_for_s // 60)
    for event_type, prefix, n in due:
        event_emit(workspace=check.deployment.workspace, deployment=check.deployment, type=event_type,
                   dedup_key=f"{prefix}:{flip.pk}:{n}",
                   summary=f"{check.deployment.name} is still down ({minutes} min): {check.last_error}",
                   data={"flip_id": flip.pk, "health_check_id": check.pk, "down_for_s": down_for_s,
                         "last_error": check.last_error})


def _unreachable(check: HealthCheck, now: datetime) -> None:
    since = check.unknown_since
    if (now - since).total_seconds() <= UNREACHABLE_AFTER_S:
        return
    alerted = check.unreachable_alerted_at
    if alerted is not None and alerted >= since:
        return  # this streak was already announced
    claimed = HealthCheck.objects.filter(pk=check.pk, unreachable_alerted_at=alerted).update(unreachable_alerted_at=now)
    if not claimed:
        return
    check.unreachable_alerted_at = now
    minutes = int((now - since).total_seconds() // 60)
    event_emit(workspace=check.deployment.workspace, deployment=check.deployment, type=EventType.UNREACHABLE,
               dedup_key=f"unreachable:{check.pk}:{since.isoformat()}",
               summary=f"Cannot tell whether {check.deployment.name} is up: no answer for {minutes} min "
                       f"({check.last_error})",
               data={"health_check_id": check.pk, "unknown_since": since.isoformat(), "last_error": check.last_error})
    event_record(deployment=check.deployment, kind=EventKind.AUTOMATION,
                 message=f"Health: unknown for {minutes} min ({check.last_error}); not treated as down")


# --- configuration ---------------------------------------------------------------------------------

EDITABLE = ("kind", "path", "port", "use_https", "interval_s", "timeout_s", "enabled", "migratable")
PROBE_FIELDS = {"kind", "path", "port", "use_https"}
INTERVAL_RANGE = (10, 3600)
TIMEOUT_RANGE = (0.5, 10.0)


def _errors_for(values: dict, deployment) -> dict:
    errors: dict[str, list[str]] = {}
    if values["kind"] not in ProbeKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(ProbeKind.values)}."]
    path = values["path"]
    if values["kind"] == ProbeKind.HTTP and (not path.startswith("/") or any(c.isspace() or ord(c) < 32 for c in path)):
        errors["path"] = ["A path starting with /, such as /health, without spaces."]
    ports = [int(p) for p in deployment.ports or []]
    if values["kind"] in (ProbeKind.HTTP, ProbeKind.TCP) and values["port"] not in ports:
        errors["port"] = [f"Choose one of the deployment's ports: {', '.join(map(str, ports))}." if ports else
                          "This deployment exposes no ports; use the provider's status instead."]
    if not INTERVAL_RANGE[0] <= values["interval_s"] <= INTERVAL_RANGE[1]:
        errors["interval_s"] = ["Between 10 and 3600 seconds."]
    if not TIMEOUT_RANGE[0] <= values["timeout_s"] <= TIMEOUT_RANGE[1]:
        errors["timeout_s"] = ["Between 0.5 and 10 seconds."]
    return errors


def _merged(check: HealthCheck, data: dict) -> dict:
    values = {name: data.get(name, getattr(check, name)) for name in EDITABLE}
    values["path"] = (values["path"] or "").strip() or ("/" if values["kind"] == "http" else "")
    if values["kind"] == "provider":
        values["port"] = values["port"] if values["port"] in (check.deployment.ports or []) else None
    return values


def health_check_update(*, check: HealthCheck, data: dict, user=None) -> HealthCheck:
    """Change the probe or its cadence; every field is checked before anything is written (an
    ApplicationError names each bad field). A new probe starts counting afresh."""
    unknown = sorted(set(data) - set(EDITABLE))
    values = _merged(check, {k: v for k, v in data.items() if k in EDITABLE})
    errors = {name: ["Unknown field."] for name in unknown} | _errors_for(values, check.deployment)
    if errors:
        raise ApplicationError("Some fields are invalid.", code="validation_error", fields=errors)
    changed = {name: value for name, value in values.items() if getattr(check, name) != value}
    if changed:
        _save_config(check, changed, user)
    return HealthCheck.objects.select_related("deployment").get(pk=check.pk)


def _save_config(check: HealthCheck, changed: dict, user) -> None:
    fields = dict(changed)
    if PROBE_FIELDS & set(changed) or changed.get("enabled") is False:
        fields |= {"consecutive_failures": 0, "consecutive_successes": 0, "unknown_since": None}
    turning_off = changed.get("enabled") is False and check.state != HealthState.NEW
    now = timezone.now()
    if turning_off:
        fields |= {"state": HealthState.NEW, "state_changed_at": now}
    with transaction.atomic():
        # `checks` moves on, so a checker holding the row from before this change writes nothing.
        HealthCheck.objects.filter(pk=check.pk).update(checks=F("checks") + 1, **fields)
        if turning_off:
            Flip.objects.create(health_check=check, deployment=check.deployment, old_state=check.state,
                                new_state=HealthState.NEW, reason="monitoring turned off", created_at=now)
        summary = ", ".join(f"{name.replace('_', ' ')} → {value}" for name, value in changed.items())
        event_record(deployment=check.deployment, kind=EventKind.AUTOMATION, actor=user,
                     message=f"Health check changed: {summary}"[:300], data={"changed": list(changed)})
