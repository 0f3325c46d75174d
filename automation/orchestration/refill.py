"""Spot refill: a spot instance was preempted, so relaunch as spot on the cheapest equivalent spot
offer (its own included) whose minimum bid is within the ceiling, bidding that current minimum.
Each launch that fails or is preempted again counts a failure; after `max_failures` it falls back
to on-demand when allowed, else people are told. On-demand launches that all fail (capacity comes
and goes) are asked again after a pause, until the launch window ends. The preempted source is
deleted once the replacement runs, so its tag cannot leak."""

from datetime import timedelta

from django.utils import timezone

from automation.engine.params import ACTION_PARAMS
from automation.models import Operation, OperationState
from automation.orchestration import base, replacement
from pricing.models import Offer

# The rebid action's own defaults, so an operation started without them behaves like a rule's.
_REBID = ACTION_PARAMS["rebid"]
DEFAULT_MAX_FAILURES = _REBID["max_failures"].default
DEFAULT_FALLBACK_ON_DEMAND = _REBID["fallback_on_demand"].default


def begin(op: Operation) -> None:
    if op.data.get("on_demand"):  # a new round after a pause, unless it is no longer wanted
        if not replacement.stopped_if_abandoned(op):
            _launch_on_demand(op)
    else:
        _relaunch(op)


def advance(op: Operation) -> None:
    replacement.advance_move(op, launch=begin, watch=_watch, done_message=_done_message)


def _settings(op: Operation) -> tuple[float | None, int, bool]:
    params = base.params(op)
    max_bid = params.get("max_bid")
    return (None if max_bid is None else float(max_bid), int(params.get("max_failures", DEFAULT_MAX_FAILURES)),
            bool(params.get("fallback_on_demand", DEFAULT_FALLBACK_ON_DEMAND)))


ON_DEMAND_TRIES = 3  # per round
ROUND_PAUSE_S = 60


def _untried(op: Operation, *, spot: bool) -> list[Offer]:
    """Equivalent offers not tried yet by this refill (the lost offer itself on the first try): a
    machine that refused or lost it again is not asked again."""
    return replacement.candidates(op.source, spot=spot, include_own=True, exclude=tuple(op.data.get("tried", [])))


def _spot_offer(op: Operation, max_bid: float | None) -> Offer | None:
    return next((o for o in _untried(op, spot=True) if max_bid is None or replacement.bid_for(o) <= max_bid), None)


def _relaunch(op: Operation) -> None:
    """Launch the next spot try at the current minimum bid while failures allow, else fall back."""
    max_bid, max_failures, fallback = _settings(op)
    while not op.data.get("on_demand") and op.data.get("failures", 0) < max_failures:
        offer = _spot_offer(op, max_bid)
        if offer is None:
            base.save_data(op, failures=max_failures, last_problem=_no_spot(max_bid))
            break
        refused = replacement.launch(op, offer)
        if not refused:
            return
        base.save_data(op, failures=op.data.get("failures", 0) + 1, last_problem=refused)
    _fall_back(op, allowed=fallback)


def _fall_back(op: Operation, *, allowed: bool) -> None:
    failures = op.data.get("failures", 0)
    if not allowed:
        _give_up(op, f"{failures} spot launch(es) failed and on-demand fallback is off")
        return
    base.save_data(op, on_demand=True)
    base.note(op.source, op, f"Spot refill: {failures} spot failure(s), falling back to on-demand")
    _launch_on_demand(op)


def _launch_on_demand(op: Operation) -> None:
    """The cheapest untried on-demand offer that accepts the launch, up to ON_DEMAND_TRIES."""
    refused = "no equivalent on-demand offer is listed"
    while op.data.get("on_demand_tries", 0) < ON_DEMAND_TRIES:
        offers = _untried(op, spot=False)
        if not offers:
            break
        base.save_data(op, on_demand_tries=op.data.get("on_demand_tries", 0) + 1)
        refused = replacement.launch(op, offers[0])
        if not refused:
            return
    if not _another_round(op):
        _give_up(op, f"the on-demand launch failed: {refused}")


def _another_round(op: Operation) -> bool:
    """Every on-demand offer of this round was asked and none runs: ask them again after a pause
    while the launch window lasts (a capacity shortage usually passes); True when it will."""
    window_ends = op.started_at + timedelta(seconds=base.launch_timeout_s())
    if not op.data.get("on_demand_tries") or timezone.now() + timedelta(seconds=ROUND_PAUSE_S) >= window_ends:
        return False
    spot_tries = [key for key in op.data.get("tried", []) if key.endswith("|1")]
    base.note(op.source, op, f"Spot refill: no on-demand offer could be launched; asking again in "
                             f"{ROUND_PAUSE_S} s")
    base.wait(op, OperationState.LAUNCHING, after_s=ROUND_PAUSE_S,
              data={**op.data, "tried": spot_tries, "on_demand_tries": 0})
    return True


def _no_spot(max_bid: float | None) -> str:
    ceiling = f" at or below ${max_bid:.2f}/h" if max_bid is not None else ""
    return f"no equivalent spot offer{ceiling}"


def _give_up(op: Operation, why: str) -> None:
    last = op.data.get("last_problem")
    detail = f" (last: {last})" if last and last not in why else ""
    base.finish(op, OperationState.FAILED, f"Spot refill of {op.source.name} failed: {why}{detail}; "
                                           f"it needs attention", urgent=True)


def _watch(op: Operation) -> None:
    if replacement.stopped_if_abandoned(op):
        return
    verdict = replacement.verdict(op, require_health=False)
    if verdict.healthy:
        replacement.switch(op)
    elif verdict.bad:
        replacement.discard(op, verdict.bad)
        if not op.data.get("on_demand"):
            base.save_data(op, failures=op.data.get("failures", 0) + 1, last_problem=verdict.bad)
            _relaunch(op)
        else:
            base.save_data(op, last_problem=verdict.bad)
            _launch_on_demand(op)
    else:
        base.wait(op)


def _done_message(op: Operation) -> str:
    new = op.replacement
    how = f"spot at a ${new.bid_per_hour:.2f}/h bid" if new.spot else "on-demand"
    return f"Refilled {op.source.name} on {base.where(new)} ({how}) after {op.attempts} launch(es)"
