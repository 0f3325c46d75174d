"""Where each kind of scenario should end, once the faults cleared and the loops settled, and how
far past its cap a capped deployment spent (in metering intervals: one minute of its price)."""

from dataclasses import dataclass

METER_INTERVAL_S = 60.0


@dataclass
class Verdict:
    success: bool
    reason: str = ""


def judge(driver, original) -> Verdict:
    spec = driver.spec
    final = driver.live()
    return _KINDS[spec.kind](driver, original, final)


def _healthy(driver, deployment) -> str:
    """"" when it runs and its check says up; else what is wrong."""
    from automation.models import HealthCheck, HealthState
    from deployments.models import Status

    if deployment is None:
        return "no deployment left"
    if deployment.status != Status.RUNNING:
        return f"ended {deployment.status}"
    if not driver.serving(deployment):
        return "running but not serving"
    check = HealthCheck.objects.filter(deployment=deployment, enabled=True).first()
    if check is None or check.state != HealthState.UP:
        return f"health {check.state if check else 'missing'}"
    return ""


def _operation_outcome(driver) -> str:
    from automation.models import Operation

    op = Operation.objects.filter(workspace=driver.workspace).exclude(kind="cap_stop").order_by("-pk").first()
    if op is None:
        return "no operation started"
    return f"{op.kind} {op.state}"


def _restart(driver, original, final) -> Verdict:
    problem = _healthy(driver, final)
    if problem:
        return Verdict(False, f"not recovered: {problem}")
    if final.pk != original.pk:
        return Verdict(False, "replaced instead of restarted")
    return Verdict(True)


def _failover(driver, original, final) -> Verdict:
    problem = _healthy(driver, final)
    if problem:
        return Verdict(False, f"not recovered: {problem} ({_operation_outcome(driver)})")
    if final.provider == original.provider:
        return Verdict(False, "still on the broken provider")
    return Verdict(True)


def _spot_refill(driver, original, final) -> Verdict:
    problem = _healthy(driver, final)
    if problem:
        return Verdict(False, f"not refilled: {problem} ({_operation_outcome(driver)})")
    return Verdict(True)


def _migration(driver, original, final) -> Verdict:
    problem = _healthy(driver, final)
    if problem:
        return Verdict(False, f"not running healthy: {problem} ({_operation_outcome(driver)})")
    params = driver.spec.params
    moved = final.pk != original.pk
    if params["variant"] == "unhealthy_target":
        return _stayed_off_the_unhealthy_target(driver, original, final)
    should_move = params["variant"] == "move" or (params["variant"] == "swing_back" and params["pre_cheaper"])
    if moved != should_move:
        return Verdict(False, "migrated when it should not have" if moved else
                       f"did not migrate ({_operation_outcome(driver)})")
    return _cheap_enough(driver, original, final)


def _stayed_off_the_unhealthy_target(driver, original, final) -> Verdict:
    """Every offer equivalent to what ran when the price dropped never becomes healthy, so the
    move towards the cheap one must roll back: it ends where it ran at the drop. That may already
    be a replacement: an offer cheap enough before the drop is a migration of its own."""
    expected = driver.spec.params.get("live_at_drop", original.pk)
    if final.pk != expected:
        return Verdict(False, "migrated when it should not have" if final.pk != original.pk else
                       f"did not migrate ({_operation_outcome(driver)})")
    return _cheap_enough(driver, original, final)


def _cheap_enough(driver, original, final) -> Verdict:
    params, moved = driver.spec.params, final.pk != original.pk
    if moved and final.price_per_hour > original.price_per_hour * (1 - params["min_saving"] / 100) + 1e-6:
        return Verdict(False, "moved to an offer not cheap enough")
    return Verdict(True)


def _cost_cap(driver, original, final) -> Verdict:
    from deployments.models import Deployment, Status

    original = Deployment.objects.get(pk=original.pk)
    limit = driver.spec.params["limit_usd"]
    wanted = (Status.STOPPED,) if original.provider in ("runpod", "vast", "paperspace", "tensordock") \
        else (Status.TERMINATED,)
    if original.spend_usd < limit * 0.999:
        return Verdict(False, f"never reached the cap (${original.spend_usd:.4f} of ${limit:.2f})")
    if original.status not in wanted:
        return Verdict(False, f"not stopped at the cap: {original.status}")
    return Verdict(True)


def _left_alone(driver, original, final) -> Verdict:
    problem = _healthy(driver, final)
    if problem:
        return Verdict(False, f"not running healthy: {problem}")
    if final.pk != original.pk:
        return Verdict(False, "moved although nothing was wrong")
    if driver.observer.automation_actions:
        return Verdict(False, f"automation acted: {', '.join(driver.observer.automation_actions)}")
    return Verdict(True)


_KINDS = {"restart": _restart, "failover": _failover, "spot_refill": _spot_refill, "migration": _migration,
          "cost_cap": _cost_cap, "outage": _left_alone, "flapping": _left_alone}


def overspend_intervals(driver, original) -> tuple[float | None, float | None]:
    """(raw, outage-adjusted) spend past the cap, in metering intervals; None when not capped.
    Adjusted leaves out the time the provider was in outage after the crossing: nothing can stop
    an instance the provider does not answer for, and the meter keeps counting it."""
    from deployments.models import Deployment

    if driver.spec.kind != "cost_cap":
        return None, None
    deployment = Deployment.objects.get(pk=original.pk)
    limit, price = driver.spec.params["limit_usd"], deployment.price_per_hour
    if price <= 0 or deployment.spend_usd < limit * 0.999:
        return None, None
    interval_usd = price * METER_INTERVAL_S / 3600
    raw = max(0.0, deployment.spend_usd - limit) / interval_usd
    crossed = _crossing(driver.observer.spend, limit)
    outage = sum(max(0.0, min(f.end, driver.t()) - max(f.start, crossed)) for f in driver.original_faults
                 if f.knob == "outage" and f.cloud == deployment.provider) if crossed is not None else 0.0
    adjusted = max(0.0, raw - outage / METER_INTERVAL_S)
    return round(raw, 3), round(adjusted, 3)


def _crossing(samples: list, limit: float) -> float | None:
    previous = None
    for t, spend, _ in samples:
        if spend >= limit:
            if previous is None or spend == previous[1]:
                return t
            return previous[0] + (t - previous[0]) * (limit - previous[1]) / (spend - previous[1])
        previous = (t, spend)
    return None


def leaks(driver) -> list[str]:
    """Live instances at the clouds that no live deployment owns (by tag and instance id)."""
    from deployments.models import Deployment, DesiredState, Status

    owned = {str(d.pk): d.instance_id for d in Deployment.objects.filter(workspace=driver.workspace)
             .exclude(status=Status.TERMINATED).exclude(desired_state=DesiredState.DELETED)}
    return [f"{cloud}:{instance_id}" for cloud, instance_id, tag, state in driver.world.live_instances()
            if owned.get(tag) != instance_id]
