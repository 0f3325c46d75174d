"""Five-minute summaries: each finished five minutes is summarised once (average and peak per
key), the unfinished one waits, and summaries outlive the 24-hour raw readings by a week."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.db.models import F
from django.utils import timezone

from deployments.metric_rollups import bucket_start, roll_up_finished
from deployments.metrics import metric_record
from deployments.models import Deployment, MetricRollup, MetricSample
from deployments.tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=dt_timezone.utc)


def _reading(deployment, minute: float, **values):
    """A reading taken at T0 + minute (metric_record stamps the present and prunes the past)."""
    Deployment.objects.filter(pk=deployment.pk).update(metric_seq=F("metric_seq") + 1)
    seq = Deployment.objects.values_list("metric_seq", flat=True).get(pk=deployment.pk)
    return MetricSample.objects.create(deployment=deployment, seq=seq, at=T0 + timedelta(minutes=minute), values=values)


def test_each_finished_five_minutes_is_summarised_once_with_average_and_peak(team):
    box = DeploymentFactory(workspace=team["workspace"])
    for minute, util in [(0, 10), (2, 30), (4.5, 20), (6, 90), (11, 5)]:
        _reading(box, minute, gpu_util_percent=util, gpu_temp_c=60 + minute)
    assert roll_up_finished(deployment_id=box.pk, now=T0 + timedelta(minutes=11)) == 2
    first, second = MetricRollup.objects.filter(deployment=box)
    assert (first.start, first.samples, first.means["gpu_util_percent"], first.peaks["gpu_util_percent"]) == (
        T0, 3, 20.0, 30.0)
    assert (second.start, second.samples, second.peaks["gpu_temp_c"]) == (T0 + timedelta(minutes=5), 1, 66.0)
    assert roll_up_finished(deployment_id=box.pk, now=T0 + timedelta(minutes=14)) == 0  # 10-15 is not over
    assert roll_up_finished(deployment_id=box.pk, now=T0 + timedelta(minutes=15)) == 1


def test_recording_summarises_before_raw_readings_expire_and_summaries_expire_after_a_week(team):
    box = DeploymentFactory(workspace=team["workspace"])
    two_days_ago = bucket_start(timezone.now() - timedelta(days=2))
    old = MetricRollup.objects.create(deployment=box, start=two_days_ago - timedelta(days=7), samples=1, means={},
                                      peaks={})
    _reading(box, (two_days_ago - T0) / timedelta(minutes=1), gpu_util_percent=3)
    metric_record(deployment=box, values={"gpu_util_percent": 4})
    assert not MetricSample.objects.filter(at=two_days_ago).exists()  # the raw reading is gone...
    kept = MetricRollup.objects.get(deployment=box, start=two_days_ago)  # ...its summary is not
    assert kept.peaks == {"gpu_util_percent": 3.0}
    assert not MetricRollup.objects.filter(pk=old.pk).exists()
