"""Price-aware migration, make before break: launch the replacement on a cheaper equivalent offer,
wait until it is healthy, switch, then delete the old deployment. A replacement that fails, is
preempted or is not healthy by the deadline is deleted and the source is left untouched; one that
failed before it ever ran (the provider had no capacity, say) is tried again after a pause, up to
MAX_LAUNCHES launches, while the offer stays cheap enough."""

from automation.engine.params import ACTION_PARAMS
from automation.models import Operation, OperationState
from automation.orchestration import base, replacement
from automation.selectors.offers import saving_percent
from deployments.models import Status
from pricing.models import Offer

DEFAULT_MIN_SAVING_PERCENT = ACTION_PARAMS["migrate"]["min_saving_percent"].default
MAX_LAUNCHES = 3
RELAUNCH_PAUSE_S = 60  # doubled after each failed launch


def begin(op: Operation) -> None:
    if op.attempts and replacement.source_abandoned(op):  # stopped or deleted during the pause
        base.finish(op, OperationState.ROLLED_BACK,
                    f"Migration of {op.source.name} stopped: it was stopped or deleted")
        return
    offer = _target(op)
    if offer is None:
        base.finish(op, OperationState.FAILED,
                    f"Migration of {op.source.name} cancelled: no equivalent offer is "
                    f"{_min_saving(op):g}% cheaper than {base.where(op.source)} any more (no longer cheaper)")
        return
    refused = replacement.launch(op, offer)
    if refused:
        base.finish(op, OperationState.FAILED, f"Migration of {op.source.name} failed: could not launch "
                                               f"the replacement: {refused}")


def advance(op: Operation) -> None:
    replacement.advance_move(op, launch=begin, watch=_watch, done_message=_done_message)


def _min_saving(op: Operation) -> float:
    return float(base.params(op).get("min_saving_percent", DEFAULT_MIN_SAVING_PERCENT))


def _target(op: Operation) -> Offer | None:
    """The cheapest equivalent offer saving at least the minimum, or the one asked for by
    `offer_id` when it is still listed and still cheap enough."""
    source, wanted = op.source, base.params(op).get("offer_id")
    cheap_enough = [o for o in replacement.candidates(source, spot=source.spot)
                    if saving_percent(source.price_per_hour, o.price_per_hour) >= _min_saving(op)]
    if wanted:
        cheap_enough = [o for o in cheap_enough if o.offer_id == str(wanted)]
    return cheap_enough[0] if cheap_enough else None


def _watch(op: Operation) -> None:
    if replacement.source_abandoned(op):
        _roll_back(op, "the deployment was stopped or deleted meanwhile")
        return
    verdict = replacement.verdict(op)
    if verdict.healthy:
        replacement.switch(op)
    elif verdict.bad and _may_launch_again(op):
        _launch_again_later(op, verdict.bad)
    elif verdict.bad:
        _roll_back(op, verdict.bad)
    else:
        base.wait(op)


def _may_launch_again(op: Operation) -> bool:
    """The replacement failed before it ever ran (nothing was judged unhealthy) and launches are left."""
    return (op.replacement.status == Status.FAILED and not op.data.get("running_seen")
            and op.attempts < MAX_LAUNCHES and not base.past_deadline(op))


def _launch_again_later(op: Operation, why: str) -> None:
    pause = RELAUNCH_PAUSE_S * 2 ** (op.attempts - 1)
    replacement.discard(op, f"{why}; trying again in {pause} s")
    base.wait(op, OperationState.LAUNCHING, after_s=pause)


def _roll_back(op: Operation, why: str) -> None:
    replacement.discard(op, why)
    base.finish(op, OperationState.ROLLED_BACK,
                f"Migration of {op.source.name} rolled back: {why}; it stays on {base.where(op.source)}")


def _done_message(op: Operation) -> str:
    old, new = op.source, op.replacement
    saves = saving_percent(old.price_per_hour, new.price_per_hour)
    return f"Migrated {old.name} from {base.where(old)} to {base.where(new)} (saves {saves:.0f}%)"
