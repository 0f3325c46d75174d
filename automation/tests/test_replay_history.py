"""replay_rule over rows in the database: it reads only this workspace's last 7 days, the
deployments' recorded statuses and samples, and refuses a rule it cannot replay with field errors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import AutomationEvent, Flip, HealthCheck
from automation.replay import replay_rule
from computehub.errors import ApplicationError
from deployments.metrics import metric_record
from deployments.metric_rollups import ROLLUP, bucket_start
from deployments.models import DeploymentEvent, EventKind, MetricRollup
from deployments.tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def _at(row, moment):
    type(row).objects.filter(pk=row.pk).update(**{"created_at": moment})


def _down(workspace, deployment, moment, key):
    row = AutomationEvent.objects.create(workspace=workspace, deployment=deployment, type="down",
                                         dedup_key=key, summary=f"{deployment.name} is down")
    _at(row, moment)


def test_recorded_down_events_of_the_window_only_and_of_this_workspace(team, other_team):
    now = timezone.now()
    ws = team["workspace"]
    llama = DeploymentFactory(workspace=ws, name="llama", provider="runpod")
    _down(ws, llama, now - timedelta(days=2), "a")
    _down(ws, llama, now - timedelta(days=9), "old")  # outside the window
    _down(other_team["workspace"], DeploymentFactory(workspace=other_team["workspace"]), now - timedelta(days=1), "x")
    check = HealthCheck.objects.create(deployment=llama, workspace=ws)
    Flip.objects.create(health_check=check, deployment=llama, old_state="down", new_state="up",
                        created_at=now - timedelta(days=2) + timedelta(minutes=33))
    result = replay_rule(workspace=ws, data={"trigger": "down", "actions": [{"type": "restart"}]}, now=now)
    assert [(row.deployment_name, row.outcome) for row in result.rows] == [("llama", "fires")]
    assert result.downtime_avoided_min == pytest.approx(30, abs=0.1)


def test_idle_replay_reads_metric_samples_and_status_history(team):
    now = timezone.now()
    ws = team["workspace"]
    box = DeploymentFactory(workspace=ws, name="box", price_per_hour=1.5)
    started = now - timedelta(hours=5)
    status = DeploymentEvent.objects.create(deployment=box, kind=EventKind.STATUS, message="Starting → Running",
                                            data={"from": "starting", "to": "running"})
    _at(status, started)
    for minute in range(0, 61, 5):
        metric_record(deployment=box, values={"gpu_util_percent": 2}, at=now - timedelta(hours=3) + timedelta(minutes=minute))
    data = {"trigger": "idle", "trigger_params": {"threshold_percent": 5, "minutes": 30}, "actions": [{"type": "stop"}]}
    result = replay_rule(workspace=ws, data=data, now=now)
    assert result.fired == 1
    # Stopped 2.5 h before the window's end, nobody needed it since: 2.5 h × $1.50.
    assert result.saved_usd == pytest.approx(3.75, abs=0.01)
    assert "metrics" in result.approximations


def _summaries(deployment, start, peaks):
    """Five-minute summaries from `start` on, one per peak GPU utilisation given."""
    for index, peak in enumerate(peaks):
        MetricRollup.objects.create(deployment=deployment, start=start + index * ROLLUP, samples=30,
                                    means={"gpu_util_percent": peak / 10}, peaks={"gpu_util_percent": peak})


def test_idle_replay_reaches_back_past_the_raw_readings_through_five_minute_summaries(team):
    now = timezone.now()
    idle = DeploymentFactory(workspace=team["workspace"], name="idle-box")
    spiky = DeploymentFactory(workspace=team["workspace"], name="spiky-box")
    three_days_ago = bucket_start(now - timedelta(days=3))
    _summaries(idle, three_days_ago, [2, 3, 1, 2, 2, 3, 2, 1])  # 40 minutes, never above 3 %
    _summaries(spiky, three_days_ago, [2, 3, 40, 2, 2, 3, 2, 1])  # one reading at 40 % (average 4 %) in the third 5 minutes
    data = {"trigger": "idle", "trigger_params": {"threshold_percent": 5, "minutes": 30}, "actions": [{"type": "stop"}]}
    result = replay_rule(workspace=team["workspace"], data=data, now=now)
    assert [(row.deployment_name, row.outcome) for row in result.rows] == [("idle-box", "fires")]
    assert "5-minute summaries" in result.approximations["metrics"]


def test_a_rule_that_cannot_be_replayed_is_refused_with_field_errors(team, other_team):
    with pytest.raises(ApplicationError) as refused:
        replay_rule(workspace=team["workspace"], data={"trigger": "idle", "trigger_params": {"minutes": 0},
                                                       "conditions": {"all": [{"field": "x", "op": "eq", "value": 1}]}})
    assert set(refused.value.fields) == {"trigger_params"}
    theirs = DeploymentFactory(workspace=other_team["workspace"])
    with pytest.raises(ApplicationError) as foreign:
        replay_rule(workspace=team["workspace"], data={"trigger": "down", "deployment": str(theirs.pk)})
    assert "deployment" in foreign.value.fields
