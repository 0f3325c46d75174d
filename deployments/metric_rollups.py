"""Five-minute summaries of a deployment's readings, kept for a week (raw samples last 24 hours):
each finished five minutes becomes one MetricRollup the first time a later sample is recorded,
so nothing needs a schedule. Replays of idle GPUs and metric conditions read them."""

from datetime import datetime, timedelta

from django.db.models import Max

from deployments.models import MetricRollup, MetricSample

ROLLUP = timedelta(minutes=5)
ROLLUP_RETENTION = timedelta(days=8)  # a little past the 7-day replay window


def bucket_start(at: datetime) -> datetime:
    return at - timedelta(minutes=at.minute % 5, seconds=at.second, microseconds=at.microsecond)


def roll_up_finished(*, deployment_id, now: datetime) -> int:
    """Summarise every finished five minutes not yet summarised; returns how many rollups were
    written. Two recorders racing write the same rows once (the unique start absorbs the second)."""
    current = bucket_start(now)
    last = MetricRollup.objects.filter(deployment_id=deployment_id).aggregate(last=Max("start"))["last"]
    if last is not None and last + ROLLUP >= current:
        return 0
    samples = MetricSample.objects.filter(deployment_id=deployment_id, at__lt=current)
    if last is not None:
        samples = samples.filter(at__gte=last + ROLLUP)
    rollups = _summaries(deployment_id, samples.order_by("at").values_list("at", "values"))
    MetricRollup.objects.bulk_create(rollups, ignore_conflicts=True)
    if rollups:
        MetricRollup.objects.filter(deployment_id=deployment_id, start__lt=now - ROLLUP_RETENTION).delete()
    return len(rollups)


def _summaries(deployment_id, rows) -> list[MetricRollup]:
    buckets: dict[datetime, list[dict]] = {}
    for at, values in rows:
        buckets.setdefault(bucket_start(at), []).append(values)
    return [MetricRollup(deployment_id=deployment_id, start=start, samples=len(readings),
                         means=_combine(readings, lambda v: sum(v) / len(v)), peaks=_combine(readings, max))
            for start, readings in buckets.items()]


def _combine(readings: list[dict], how) -> dict[str, float]:
    keys = sorted({key for values in readings for key in values})
    return {key: round(how([values[key] for values in readings if key in values]), 3) for key in keys}
