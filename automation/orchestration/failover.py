"""Cross-cloud failover: the source is down, so launch on the cheapest equivalent offer on ANOTHER
provider; once healthy, switch to it and delete the source. A replacement that never comes up is
deleted and the next offer tried, up to `max_attempts`; then people are told it needs them."""

from automation.models import Operation, OperationState
from automation.orchestration import base, replacement
from providers.models import provider_display_name

DEFAULT_MAX_ATTEMPTS = 3


def begin(op: Operation) -> None:
    _launch_next(op, last_problem="")


def advance(op: Operation) -> None:
    replacement.advance_move(op, launch=begin, watch=_watch, done_message=_done_message)


def _max_attempts(op: Operation) -> int:
    return int(base.params(op).get("max_attempts", DEFAULT_MAX_ATTEMPTS))


def _launch_next(op: Operation, *, last_problem: str) -> None:
    """Try the cheapest untried offer elsewhere; refused launches move on to the next one."""
    spot = None if base.params(op).get("allow_spot") else False
    while op.attempts < _max_attempts(op):
        offers = replacement.candidates(op.source, other_provider=True, spot=spot,
                                        exclude=tuple(op.data.get("tried", [])))
        if not offers:
            break
        refused = replacement.launch(op, offers[0])
        if not refused:
            return
        last_problem = f"launch refused on {provider_display_name(offers[0].provider)}: {refused}"
    _give_up(op, last_problem)


def _give_up(op: Operation, last_problem: str) -> None:
    if op.attempts == 0:
        why = last_problem or "no equivalent offer on another provider"
    else:
        last = f" (last: {last_problem})" if last_problem else ""
        why = f"{op.attempts} replacement(s) did not become healthy{last}"
    base.finish(op, OperationState.FAILED, f"Failover of {op.source.name} failed: {why}; it needs attention",
                urgent=True)


def _watch(op: Operation) -> None:
    if replacement.stopped_if_abandoned(op):
        return
    verdict = replacement.verdict(op)
    if verdict.healthy:
        replacement.switch(op)
    elif verdict.bad:
        replacement.discard(op, verdict.bad)
        _launch_next(op, last_problem=verdict.bad)
    else:
        base.wait(op)


def _done_message(op: Operation) -> str:
    return f"Failed over {op.source.name} from {base.where(op.source)} to {base.where(op.replacement)}"
