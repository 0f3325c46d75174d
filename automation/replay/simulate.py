"""Replays a rule over loaded history: each moment its trigger fits, the conditions against the
facts of that moment, then the cooldown and the hourly cap per deployment, exactly in the order
the engine applies them; firings are estimated (estimates.py). Pure: no database."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from automation import conditions
from automation.replay.estimates import Estimate, estimate
from automation.replay.facts import APPROXIMATED, facts_at
from automation.replay.history import History
from automation.replay.occurrences import occurrences
from automation.replay.prices import PriceBook
from automation.replay.spec import Occurrence, RuleSpec

HOUR = timedelta(hours=1)
MAX_ROWS = 200

FIRES, NOT_MATCHED, COOLDOWN, CAPPED, ALREADY_OFF = "fires", "not_matched", "cooldown", "capped", "already_off"
ESCALATES = "escalates"
ACTED = (FIRES, ESCALATES)
OUTCOME_TEXT = {
    FIRES: "Would fire", ESCALATES: "Capped: would escalate", NOT_MATCHED: "Conditions not met",
    COOLDOWN: "Skipped: cooldown",
    CAPPED: "Skipped: hourly cap", ALREADY_OFF: "Skipped: already stopped by this rule",
}


@dataclass
class ReplayRow:
    at: datetime
    deployment_id: str | None
    deployment_name: str
    what: str
    outcome: str
    facts_shown: list[str] = field(default_factory=list)
    estimate: Estimate | None = None
    actions: list = field(default_factory=list)  # what it would have done (the escalation when capped)

    @property
    def outcome_text(self) -> str:
        return OUTCOME_TEXT[self.outcome]

    @property
    def fired(self) -> bool:
        return self.outcome in ACTED


@dataclass
class ReplayResult:
    start: datetime
    end: datetime
    rows: list[ReplayRow]
    considered: int = 0
    fired: int = 0
    saved_usd: float = 0.0
    extra_cost_usd: float = 0.0
    downtime_avoided_min: float = 0.0
    approximations: dict = field(default_factory=lambda: dict(APPROXIMATED))

    @property
    def truncated(self) -> bool:
        return self.considered > len(self.rows)


@dataclass
class _State:
    fires: dict = field(default_factory=lambda: defaultdict(list))
    restarts: dict = field(default_factory=lambda: defaultdict(list))
    escalations: dict = field(default_factory=lambda: defaultdict(list))
    off_until: dict = field(default_factory=dict)


def replay(spec: RuleSpec, history: History, *, max_rows: int = MAX_ROWS) -> ReplayResult:
    """What `spec` would have done over `history` (its conditions must be valid)."""
    history.sort()
    book, state = PriceBook(history), _State()
    result = ReplayResult(start=history.start, end=history.end, rows=[])
    for occurrence in occurrences(spec, history, book):
        row = _decide(spec, history, book, occurrence, state)
        _count(result, row)
        if len(result.rows) < max_rows:
            result.rows.append(row)
    result.saved_usd, result.extra_cost_usd = round(result.saved_usd, 2), round(result.extra_cost_usd, 2)
    return result


def _count(result: ReplayResult, row: ReplayRow) -> None:
    result.considered += 1
    if not row.fired:
        return
    result.fired += 1
    saved = row.estimate.saved_usd
    if saved >= 0:
        result.saved_usd += saved
    else:
        result.extra_cost_usd -= saved
    result.downtime_avoided_min += row.estimate.downtime_avoided_min


def _decide(spec: RuleSpec, history: History, book: PriceBook, occurrence: Occurrence, state: _State) -> ReplayRow:
    key, at = occurrence.deployment_id, occurrence.at
    info = history.deployments.get(key) if key else None
    row = ReplayRow(at, key, info.name if info else "Workspace", occurrence.what, FIRES)
    if key in state.off_until and at < state.off_until[key]:
        row.outcome = ALREADY_OFF
        return row
    facts = facts_at(history, book, occurrence, restarts_last_hour=_within_hour(state.restarts[key], at))
    row.facts_shown = _shown(spec.conditions, facts)
    row.outcome = _gate(spec, conditions.evaluate(spec.conditions, facts), state.fires[key], at)
    if row.outcome == CAPPED and spec.escalation and not _within_hour(state.escalations[key], at):
        row.outcome = ESCALATES
        state.escalations[key].append(at)
        row.estimate, row.actions = estimate(spec.escalated(), history, book, occurrence), spec.escalation
        _remember(spec.escalated(), state, key, None, row.estimate)
    elif row.outcome == FIRES:
        row.estimate, row.actions = estimate(spec, history, book, occurrence), spec.actions
        _remember(spec, state, key, at, row.estimate)
    return row


def _gate(spec: RuleSpec, matched: bool, fires: list[datetime], at: datetime) -> str:
    if not matched:
        return NOT_MATCHED
    if fires and (at - fires[-1]).total_seconds() < spec.cooldown_s:
        return COOLDOWN
    if _within_hour(fires, at) >= spec.max_per_hour:
        return CAPPED
    return FIRES


def _within_hour(moments: list[datetime], at: datetime) -> int:
    return sum(1 for moment in moments if at - moment < HOUR)


def _remember(spec: RuleSpec, state: _State, key, at: datetime | None, outcome: Estimate) -> None:
    """`at` None: an escalation, which counts toward neither the cooldown nor the cap."""
    if at is not None:
        state.fires[key].append(at)
    if at is not None and any(isinstance(a, dict) and a.get("type") == "restart" for a in spec.actions):
        state.restarts[key].append(at)
    if outcome.off_until:
        state.off_until[key] = outcome.off_until


def _shown(condition: dict, facts: dict) -> list[str]:
    """"label = value" for each field the conditions look at, so a reader sees why."""
    shown = []
    for name in _fields(condition):
        value = facts.get(name)
        label = conditions.FIELDS[name].label
        shown.append(f"{label}: {'unknown' if value is None else _plain(value)}")
    return shown


def _fields(condition) -> list[str]:
    if not isinstance(condition, dict) or not condition:
        return []
    for group in ("all", "any"):
        if group in condition:
            return list(dict.fromkeys(name for child in condition[group] for name in _fields(child)))
    if "not" in condition:
        return _fields(condition["not"])
    return [condition["field"]] if condition.get("field") in conditions.FIELDS else []


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
