"""When a rule's trigger would have fired over the recorded history, trigger by trigger. Recorded
automation events are the first source; flips and status changes fill in what has no event;
idle, spend, price and schedule triggers are recomputed from samples, spend days, price points
and the cron expression (so they fire for this rule, not for whichever rule existed then)."""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from automation.replay import timeline
from automation.replay.history import History
from automation.replay.prices import PriceBook
from automation.replay.spec import Occurrence, RuleSpec

SAMPLE_GAP = timedelta(minutes=10)  # no sample for longer: not known to be idle
NEARBY = timedelta(minutes=5)  # a status change this close to an event of its kind is that event
MAX_SCHEDULED = 500


def occurrences(spec: RuleSpec, history: History, book: PriceBook) -> list[Occurrence]:
    finder = _FINDERS.get(spec.trigger)
    found = finder(spec, history, book) if finder else []
    scoped = [_typed(o, spec.trigger) for o in found if history.start <= o.at <= history.end
              and (spec.deployment_id is None or o.deployment_id == spec.deployment_id)]
    return sorted(scoped, key=lambda o: (o.at, o.deployment_id or ""))


def _typed(occurrence: Occurrence, trigger: str) -> Occurrence:
    """The `event.type` fact: the recorded event's type, else the trigger's own event type."""
    if "event_type" in occurrence.data:
        return occurrence
    return replace(occurrence, data={**occurrence.data, "event_type": trigger})


def _targets(spec: RuleSpec, history: History, at: datetime) -> list[str | None]:
    """Who a workspace-wide happening concerns: the rule's deployment, every running deployment
    when the rule acts on deployments, else the workspace as a whole (None)."""
    if spec.deployment_id:
        return [spec.deployment_id]
    return timeline.running_deployments(history, at) if spec.acts_on_deployments else [None]


def _scoped_deployments(spec: RuleSpec, history: History) -> list[str]:
    return [spec.deployment_id] if spec.deployment_id else list(history.deployments)


def _events(spec, history, types: tuple[str, ...], label: str):
    for event in history.events:
        if event.type not in types:
            continue
        for target in [event.deployment_id] if event.deployment_id else _targets(spec, history, event.at):
            data = {"source": "event", "event_type": event.type, **event.data}
            yield Occurrence(event.at, target, event.summary or label, data)


def _flip_ids(history: History) -> set[str]:
    return {e.dedup_key.split(":", 1)[1] for e in history.events if e.dedup_key.startswith("flip:")}


def _down(spec, history, book):
    yield from _events(spec, history, ("down", "still_down"), "Went down")
    covered = _flip_ids(history)
    for flip in history.flips:
        if flip.new == "down" and str(flip.id) not in covered:
            yield Occurrence(flip.at, flip.deployment_id, "Health check went down", {"source": "flip"})


def _recovered(spec, history, book):
    yield from _events(spec, history, ("recovered",), "Recovered")
    covered = _flip_ids(history)
    for flip in history.flips:
        if flip.new == "up" and flip.old == "down" and str(flip.id) not in covered:
            yield Occurrence(flip.at, flip.deployment_id, "Health check up again", {"source": "flip"})


def _status_or_event(spec, history, event_types, statuses, label, from_statuses=None):
    seen = [e for e in history.events if e.type in event_types]
    yield from _events(spec, history, event_types, label)
    for row in history.statuses:
        if row.new not in statuses or (from_statuses and row.old not in from_statuses):
            continue
        if not any(e.deployment_id == row.deployment_id and abs(e.at - row.at) <= NEARBY for e in seen):
            yield Occurrence(row.at, row.deployment_id, f"{label} (status {row.old} → {row.new})", {"source": "status"})


def _preempted(spec, history, book):
    return _status_or_event(spec, history, ("preempted",), ("preempted",), "Spot instance preempted")


def _failed_to_start(spec, history, book):
    return _status_or_event(spec, history, ("failed_to_start",), ("failed",), "Failed to start",
                            from_statuses=("pending", "provisioning", "starting"))


def _budget(spec, history, book):
    wanted = spec.trigger_params.get("budget_id")
    for occurrence in _events(spec, history, ("budget_reached",), "Budget reached"):
        if not wanted or occurrence.data.get("budget_id") == wanted:
            yield occurrence


def _idle(spec, history, book):
    threshold = float(spec.trigger_params.get("threshold_percent", 5))
    needed = timedelta(minutes=float(spec.trigger_params.get("minutes", 30)))
    for deployment_id in _scoped_deployments(spec, history):
        yield from _idle_stretches(history.of("samples", deployment_id), deployment_id, threshold, needed)


def _idle_stretches(samples, deployment_id, threshold, needed):
    """Fires once per stretch of consecutive low readings lasting `needed`; busy again re-arms."""
    since, fired, previous = None, False, None
    for sample in samples:
        util = sample.values.get("gpu_util_percent")
        if previous is not None and sample.at - previous > SAMPLE_GAP:
            since, fired = None, False
        previous = sample.at
        if util is None or util >= threshold:
            since, fired = None, False
            continue
        since = since or sample.at
        if not fired and sample.at - since >= needed:
            fired = True
            minutes = round((sample.at - since).total_seconds() / 60)
            yield Occurrence(sample.at, deployment_id, f"GPU at {util:g}% (below {threshold:g}% for {minutes} min)",
                             {"idle_since": since, "busy_percent": threshold})


def _period_key(day, period: str) -> str:
    return {"day": day.isoformat(), "month": day.strftime("%Y-%m")}.get(period, "total")


def _cost(spec, history, book):
    usd, period = float(spec.trigger_params.get("usd") or 0), spec.trigger_params.get("period", "total")
    if usd <= 0:
        return
    for deployment_id in _scoped_deployments(spec, history):
        totals: dict[str, float] = {}
        for row in history.of("spend", deployment_id):
            key = _period_key(row.day, period)
            before = totals.get(key, 0.0)
            totals[key] = before + row.usd
            if before < usd <= totals[key]:
                counted = {"day": "that day", "month": "that month"}.get(period, "in total")
                yield Occurrence(_crossing(history, row, (usd - before) / row.usd), deployment_id,
                                 f"Spend passed ${usd:,.2f} ({counted})", {"estimated_time": True})


def _crossing(history: History, row, fraction: float) -> datetime:
    """When within its day a spend day's total crossed: spread evenly over the day (or over the
    part of today that has passed)."""
    day_start = datetime.combine(row.day, datetime.min.time(), tzinfo=history.end.tzinfo)
    span = min(timedelta(days=1), max(history.end - day_start, timedelta(0)))
    return day_start + span * fraction


def _price_change(spec, history, book):
    percent = float(spec.trigger_params.get("min_saving_percent", 20))
    needed = timedelta(minutes=float(spec.trigger_params.get("minutes", 30)))
    for deployment_id in _scoped_deployments(spec, history):
        info = history.deployments[deployment_id]
        if info.gpu_model and info.price_per_hour > 0:
            yield from _cheaper_stretches(history, book, info, percent, needed)


def _cheaper_stretches(history, book, info, percent, needed):
    since, fired = None, False
    for at, per_gpu in book.timeline(info.gpu_model):
        cheapest = per_gpu * max(info.gpu_count, 1)
        saving = (info.price_per_hour - cheapest) / info.price_per_hour * 100
        if saving < percent or timeline.status_at(history, info.id, at) != timeline.RUNNING:
            since, fired = None, False
            continue
        since = since or at
        if not fired and at - since >= needed:
            fired = True
            yield Occurrence(at, info.id, f"${cheapest:,.2f}/h elsewhere, {saving:.0f}% cheaper",
                             {"cheapest_per_hour": cheapest, "saving_percent": round(saving, 1)})


def _price_below(spec, history, book):
    model, limit = spec.trigger_params.get("gpu_model", ""), float(spec.trigger_params.get("price") or 0)
    spot = None if spec.trigger_params.get("include_spot") else False
    below = False
    for at, cheapest in book.timeline(model, spot=spot, provider=spec.trigger_params.get("provider") or ""):
        if cheapest <= limit and not below:
            for target in _targets(spec, history, at):
                yield Occurrence(at, target, f"{model} at ${cheapest:,.2f}/GPU-hour", {"price": cheapest})
        below = cheapest <= limit


def _schedule(spec, history, book):
    cron, zone = spec.trigger_params.get("cron", ""), spec.trigger_params.get("timezone") or "UTC"
    if not croniter.is_valid(cron):
        return
    times = croniter(cron, history.start.astimezone(ZoneInfo(zone)))
    for _ in range(MAX_SCHEDULED):
        at = times.get_next(datetime)
        if at > history.end:
            return
        for target in _targets(spec, history, at):
            yield Occurrence(at, target, f"Scheduled time {at:%a %H:%M} ({zone})")


_FINDERS = {
    "down": _down, "recovered": _recovered, "preempted": _preempted, "failed_to_start": _failed_to_start,
    "budget_reached": _budget, "idle": _idle, "cost_threshold": _cost, "price_change": _price_change,
    "price_below": _price_below, "schedule": _schedule,
}
