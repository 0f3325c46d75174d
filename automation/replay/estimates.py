"""What one would-be firing would have cost or saved, from the recorded history. Estimates, and
labelled so: a stop saves the price for the time the deployment then actually ran until someone
needed it again; a move saves the price difference for the hours it went on running; a restart
or failover saves the downtime the record shows, less the time the action itself takes."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from automation.replay import timeline
from automation.replay.history import History
from automation.replay.prices import PriceBook
from automation.replay.spec import Occurrence, RuleSpec

RESTART_TAKES = timedelta(minutes=3)  # assumed: a restart brings it back in about this time
RELAUNCH_TAKES = timedelta(minutes=5)  # assumed: a replacement elsewhere runs after about this
BUDGET_TRIGGERS = ("cost_threshold", "budget_reached")


@dataclass
class Estimate:
    saved_usd: float = 0.0  # negative: it would have cost more
    downtime_avoided_min: float = 0.0
    notes: list[str] = field(default_factory=list)
    off_until: datetime | None = None  # stopped or deleted by this rule until then

    def add(self, other: "Estimate") -> None:
        self.saved_usd += other.saved_usd
        self.downtime_avoided_min = max(self.downtime_avoided_min, other.downtime_avoided_min)
        self.notes += other.notes
        self.off_until = self.off_until or other.off_until


def estimate(spec: RuleSpec, history: History, book: PriceBook, occurrence: Occurrence) -> Estimate:
    total = Estimate()
    info = history.deployments.get(occurrence.deployment_id) if occurrence.deployment_id else None
    for action in spec.actions:
        if not isinstance(action, dict):
            continue
        how = _ESTIMATORS.get(action.get("type"))
        if how is None or info is None:
            total.notes.append("sends a message" if action.get("type") in ("notify", "webhook") else "no cost effect")
            continue
        total.add(how(spec, history, book, occurrence, info, action))
        if total.off_until:
            break  # it is stopped or gone: later actions act on nothing
    total.saved_usd = round(total.saved_usd, 2)
    return total


def _hours(history: History, deployment_id: str, start: datetime, end: datetime | None) -> float:
    return timeline.running_hours(history, deployment_id, start, end or history.end)


def _stop(spec, history, book, occurrence, info, action):
    until = timeline.next_needed(history, info.id, occurrence.at, busy_percent=occurrence.data.get("busy_percent"))
    hours = _hours(history, info.id, occurrence.at, until)
    saved = info.price_per_hour * hours
    what = "overspend avoided" if spec.trigger in BUDGET_TRIGGERS else "saved"
    until_text = f"until it was needed again at {until:%a %H:%M}" if until else "to the end of the window"
    note = f"≈ ${saved:,.2f} {what}: ${info.price_per_hour:,.2f}/h × {hours:.1f} h it ran {until_text}"
    return Estimate(saved, notes=[note], off_until=until or history.end)


def _delete(spec, history, book, occurrence, info, action):
    hours = _hours(history, info.id, occurrence.at, None)
    saved = info.price_per_hour * hours
    note = f"≈ ${saved:,.2f} saved: ${info.price_per_hour:,.2f}/h × {hours:.1f} h it ran afterwards (gone for good)"
    return Estimate(saved, notes=[note], off_until=history.end)


def _cheapest(history, book, info, at, *, other_provider=False) -> float | None:
    per_gpu = book.cheapest_at(info.gpu_model, at, exclude_provider=info.provider if other_provider else None)
    if per_gpu is not None:
        return per_gpu * max(info.gpu_count, 1)
    now = history.cheapest_other_provider_now if other_provider else history.cheapest_now
    return now.get(info.id)


def _migrate(spec, history, book, occurrence, info, action):
    cheapest = occurrence.data.get("cheapest_per_hour") or _cheapest(history, book, info, occurrence.at)
    wanted = float(action.get("min_saving_percent", 20))
    if cheapest is None or info.price_per_hour <= 0:
        return Estimate(notes=["would not move: no recorded price for an equal offer"])
    percent = (info.price_per_hour - cheapest) / info.price_per_hour * 100
    if percent < wanted:
        return Estimate(notes=[f"would not move: the cheapest equal offer (${cheapest:,.2f}/h) "
                               f"saves {max(percent, 0):.0f}%, under {wanted:g}%"])
    hours = _hours(history, info.id, occurrence.at, None)
    saved = (info.price_per_hour - cheapest) * hours
    difference = info.price_per_hour - cheapest
    return Estimate(saved, notes=[f"≈ ${saved:,.2f} saved: ${difference:,.2f}/h cheaper × {hours:.1f} h it went on running"])


def _downtime(history, info, occurrence, takes: timedelta) -> float | None:
    """Minutes it was recorded down after `occurrence`, less what the action takes; None when
    no recovery was recorded (then nobody can say how long it would have stayed down)."""
    back = timeline.next_up(history, info.id, occurrence.at)
    return None if back is None else max((back - occurrence.at - takes).total_seconds() / 60, 0.0)


NO_RECOVERY = "downtime avoided unknown: no recovery was recorded"


def _restart(spec, history, book, occurrence, info, action):
    if spec.trigger != "down":
        return Estimate(notes=["restart: a few minutes without service, no cost change"])
    minutes = _downtime(history, info, occurrence, RESTART_TAKES)
    if minutes is None:
        return Estimate(notes=[NO_RECOVERY])
    return Estimate(downtime_avoided_min=minutes,
                    notes=[f"≈ {minutes:.0f} min of downtime avoided, if a restart helps "
                           "(it was down until it came back on its own)"])


def _failover(spec, history, book, occurrence, info, action):
    other = _cheapest(history, book, info, occurrence.at, other_provider=True)
    if other is None:
        return Estimate(notes=["would not fail over: no recorded offer on another provider"])
    minutes = _downtime(history, info, occurrence, RELAUNCH_TAKES)
    hours = _hours(history, info.id, occurrence.at, None) + (minutes or 0) / 60
    saved = (info.price_per_hour - other) * hours
    cost = f"≈ ${abs(saved):,.2f} {'saved' if saved >= 0 else 'extra'} at ${other:,.2f}/h on another provider"
    downtime = NO_RECOVERY if minutes is None else f"≈ {minutes:.0f} min of downtime avoided"
    return Estimate(saved, minutes or 0.0, [f"{downtime}; {cost}"])


def _rebid(spec, history, book, occurrence, info, action):
    minutes = _downtime(history, info, occurrence, RELAUNCH_TAKES)
    if minutes is None:
        return Estimate(notes=["keeps it running at about its spot price; no relaunch was recorded to compare"])
    return Estimate(downtime_avoided_min=minutes,
                    notes=[f"≈ {minutes:.0f} min without the instance avoided; it keeps costing about its spot price"])


_ESTIMATORS = {"stop": _stop, "delete": _delete, "migrate": _migrate, "restart": _restart,
               "failover": _failover, "rebid": _rebid}
