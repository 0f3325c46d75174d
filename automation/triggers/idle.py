"""`idle`: a running deployment whose GPU utilisation stayed below the rule's threshold for the
last Y minutes. Only real GPU readings count: a deployment without `gpu_util_percent` samples,
or whose samples leave a gap in the window, is never idle (no evidence is not idleness).

One event per idle streak: a streak is named by the last busy sample before it (and the moment
the deployment started running), so the key stays the same tick after tick until the GPU is busy
again or the deployment restarts."""

from datetime import datetime, timedelta

from django.utils import timezone

from automation.models import EventType, Rule, Trigger
from automation.triggers.common import emit_once, number_param, rules_batch, running_in_scope, safely
from deployments.models import Deployment, MetricSample

METRIC = "gpu_util_percent"
MIN_GAP_TOLERANCE = timedelta(minutes=2)  # metrics arrive every ~15 s, slower when rate-limited


def evaluate_idle_rules(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(safely(_rule_step, rule, now) for rule in rules_batch(Trigger.IDLE))


def _rule_step(rule: Rule, now: datetime) -> int:
    threshold = number_param(rule, "threshold_percent", "percent")
    minutes = number_param(rule, "minutes")
    if threshold is None or not minutes or minutes <= 0:
        return 0
    window = timedelta(minutes=minutes)
    return sum(_check(rule, deployment, threshold, window, now) for deployment in running_in_scope(rule))


def _check(rule: Rule, deployment: Deployment, threshold: float, window: timedelta, now: datetime) -> bool:
    if not is_idle(deployment, threshold=threshold, window=window, now=now):
        return False
    minutes = round(window.total_seconds() / 60)
    return emit_once(
        workspace=rule.workspace, deployment=deployment, type=EventType.IDLE,
        dedup_key=f"idle:{rule.pk}:{deployment.pk}:{_streak_name(deployment, threshold)}",
        summary=f"{deployment.name}: GPU below {threshold:g}% for {minutes} minutes",
        data={"rule_id": rule.pk, "threshold_percent": threshold, "minutes": minutes})


def is_idle(deployment: Deployment, *, threshold: float, window: timedelta, now: datetime) -> bool:
    """Every GPU reading of the last `window` is below `threshold`, and the readings cover it."""
    start = now - window
    if deployment.running_since is None or deployment.running_since > start:
        return False
    readings = list(MetricSample.objects.filter(deployment=deployment, at__gte=start, at__lte=now,
                                                values__has_key=METRIC).order_by("at").values_list("at", "values"))
    if not readings or not _covers([at for at, _ in readings], start, now, _tolerance(window)):
        return False
    return all(_util(values) is not None and _util(values) < threshold for _, values in readings)


def _tolerance(window: timedelta) -> timedelta:
    return max(MIN_GAP_TOLERANCE, window / 5)


def _covers(times: list[datetime], start: datetime, end: datetime, tolerance: timedelta) -> bool:
    edges = [start, *times, end]
    return all(later - earlier <= tolerance for earlier, later in zip(edges, edges[1:], strict=False))


def _util(values: dict) -> float | None:
    value = values.get(METRIC)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _streak_name(deployment: Deployment, threshold: float) -> str:
    busy = (MetricSample.objects.filter(deployment=deployment, values__has_key=METRIC,
                                        values__gpu_util_percent__gte=threshold)
            .order_by("-at").values_list("seq", flat=True).first())
    return f"{deployment.running_since.isoformat()}:{busy or 0}"
