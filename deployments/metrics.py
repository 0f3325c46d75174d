"""A deployment's resource readings: one MetricSample per collection, kept for 24 hours, read
back raw (`since`) or per chart window with bucket averages so a chart gets at most MAX_POINTS.
Each finished five minutes is also summarised into a MetricRollup kept for a week (metric_rollups)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from deployments import realtime
from deployments.metric_rollups import roll_up_finished
from deployments.models import Deployment, MetricSample

RETENTION = timedelta(hours=24)
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
MAX_POINTS = 300

# Adapter metric names → MetricSample keys (models.MetricSample), and how several GPUs combine.
_NAMES = {
    "gpu_util_percent": ("gpu_util_percent", "mean"),
    "gpu_memory_used_gb": ("gpu_mem_used_gb", "sum"),
    "gpu_mem_used_gb": ("gpu_mem_used_gb", "sum"),
    "gpu_temperature_c": ("gpu_temp_c", "max"),
    "gpu_temp_c": ("gpu_temp_c", "max"),
    "cpu_percent": ("cpu_percent", "sum"),
    "memory_used_gb": ("ram_used_gb", "sum"),
    "ram_used_gb": ("ram_used_gb", "sum"),
    "net_rx_bps": ("net_rx_bps", "sum"),
    "net_tx_bps": ("net_tx_bps", "sum"),
}
_COMBINE = {"mean": lambda v: sum(v) / len(v), "sum": sum, "max": max}


def values_from_points(points) -> dict[str, float]:
    """Adapter MetricPoints (one per name and GPU) → one sample's values; unknown names are dropped."""
    grouped: dict[str, tuple[str, list[float]]] = {}
    for point in points:
        if point.name in _NAMES:
            key, how = _NAMES[point.name]
            grouped.setdefault(key, (how, []))[1].append(float(point.value))
    return {key: round(_COMBINE[how](values), 3) for key, (how, values) in grouped.items()}


def metric_record(*, deployment, values: dict, at: datetime | None = None) -> MetricSample | None:
    """Store one sample with the next sequence number, prune what is past retention, and
    publish it once committed. None when there is nothing to store."""
    if not values:
        return None
    at = at or timezone.now()
    with transaction.atomic():
        # The UPDATE locks the row until commit: concurrent recorders never share a seq.
        Deployment.objects.filter(pk=deployment.pk).update(metric_seq=F("metric_seq") + 1)
        seq = Deployment.objects.filter(pk=deployment.pk).values_list("metric_seq", flat=True).get()
        sample = MetricSample.objects.create(deployment_id=deployment.pk, seq=seq, at=at, values=values)
        roll_up_finished(deployment_id=deployment.pk, now=at)  # before the prune: no reading is lost unsummarised
        MetricSample.objects.filter(deployment_id=deployment.pk, at__lt=timezone.now() - RETENTION).delete()
        transaction.on_commit(lambda: realtime.publish_metric(deployment, sample))
    return sample


def metric_samples_since(*, deployment, since: datetime) -> QuerySet[MetricSample]:
    return MetricSample.objects.filter(deployment=deployment, at__gte=since).order_by("seq")


def metric_window(*, deployment, window: str, now: datetime | None = None) -> list[dict]:
    """Points for a chart over `window` ("1h" or "24h"): raw samples while they fit in
    MAX_POINTS, else the average of each of MAX_POINTS equal time buckets."""
    end = now or timezone.now()
    start = end - WINDOWS[window]
    rows = list(metric_samples_since(deployment=deployment, since=start).values_list("at", "values"))
    if len(rows) <= MAX_POINTS:
        return [{"at": at, "values": values} for at, values in rows]
    return _bucket_averages(rows, start, (end - start) / MAX_POINTS)


def _bucket_averages(rows, start: datetime, width: timedelta) -> list[dict]:
    buckets: dict[int, list[dict]] = {}
    for at, values in rows:
        buckets.setdefault(int((at - start) / width), []).append(values)
    return [{"at": start + width * index + width / 2, "values": _mean_values(samples)}
            for index, samples in sorted(buckets.items())]


def _mean_values(samples: list[dict]) -> dict[str, float]:
    keys = {key for values in samples for key in values}
    return {key: round(sum(v[key] for v in samples if key in v) / sum(1 for v in samples if key in v), 3)
            for key in sorted(keys)}
