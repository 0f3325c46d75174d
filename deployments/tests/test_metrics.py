"""Metric samples: sequence, retention, the adapter-name mapping and the chart windows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.metrics import (MAX_POINTS, metric_record, metric_samples_since, metric_window,
                                 values_from_points)
from deployments.models import MetricSample
from deployments.tests.factories import DeploymentFactory
from providers.adapters.base import MetricPoint


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"])


def test_samples_get_increasing_seqs_and_old_ones_are_pruned(deployment):
    now = timezone.now()
    old = metric_record(deployment=deployment, values={"cpu_percent": 1.0}, at=now - timedelta(hours=25))
    new = metric_record(deployment=deployment, values={"cpu_percent": 2.0}, at=now)
    assert (old.seq, new.seq) == (1, 2)
    assert list(MetricSample.objects.values_list("seq", flat=True)) == [2]
    assert metric_record(deployment=deployment, values={}) is None


def test_adapter_points_map_to_sample_keys_and_gpus_combine():
    at = timezone.now()
    points = [MetricPoint("gpu_util_percent", 50, at, 0), MetricPoint("gpu_util_percent", 100, at, 1),
              MetricPoint("gpu_memory_used_gb", 10, at, 0), MetricPoint("gpu_memory_used_gb", 5, at, 1),
              MetricPoint("gpu_temperature_c", 60, at, 0), MetricPoint("gpu_temperature_c", 70, at, 1),
              MetricPoint("memory_used_gb", 1.5, at), MetricPoint("something_new", 1, at)]
    assert values_from_points(points) == {"gpu_util_percent": 75.0, "gpu_mem_used_gb": 15.0,
                                          "gpu_temp_c": 70.0, "ram_used_gb": 1.5}


def test_since_returns_raw_samples_in_order(deployment):
    now = timezone.now()
    for minutes in (30, 20, 10):
        metric_record(deployment=deployment, values={"cpu_percent": minutes}, at=now - timedelta(minutes=minutes))
    got = metric_samples_since(deployment=deployment, since=now - timedelta(minutes=25))
    assert [s.values["cpu_percent"] for s in got] == [20, 10]


def test_24h_window_is_averaged_to_at_most_300_points(deployment):
    now = timezone.now()
    # One sample a minute for 24 hours: 1440 rows, more than a chart needs.
    MetricSample.objects.bulk_create(
        MetricSample(deployment=deployment, seq=n, at=now - timedelta(minutes=n), values={"cpu_percent": float(n % 2)})
        for n in range(1, 1440)
    )
    points = metric_window(deployment=deployment, window="24h", now=now)
    assert 250 <= len(points) <= MAX_POINTS
    assert all(0.0 < p["values"]["cpu_percent"] < 1.0 for p in points)  # averages, not picks
    assert [p["at"] for p in points] == sorted(p["at"] for p in points)
    short = metric_window(deployment=deployment, window="1h", now=now)
    assert len(short) == 60 and short[0]["values"]["cpu_percent"] in (0.0, 1.0)  # raw while it fits
