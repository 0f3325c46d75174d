"""`idle`: GPU utilisation below X% for Y minutes, judged only on real GPU readings covering the
window; one event per idle streak."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import AutomationEvent, EventType, Trigger
from automation.tests.factories_triggers import make_rule, readings
from automation.triggers import run_periodic_triggers
from automation.triggers.idle import evaluate_idle_rules
from deployments.models import Status
from deployments.tests.factories import DeploymentFactory

PARAMS = {"threshold_percent": 10, "minutes": 10}


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"], running_since=timezone.now() - timedelta(hours=2))


@pytest.fixture
def rule(team):
    return make_rule(team["workspace"], Trigger.IDLE, PARAMS)


def _idle_events():
    return AutomationEvent.objects.filter(type=EventType.IDLE)


def test_idle_for_the_whole_window_fires_once_with_the_rule(rule, deployment):
    readings(deployment, [3.0] * 25)  # 12 minutes of readings, all below 10%
    assert evaluate_idle_rules() == 1
    event = _idle_events().get()
    assert event.deployment == deployment and event.data["rule_id"] == rule.pk
    assert evaluate_idle_rules() == 0 and run_periodic_triggers()["idle"] == 0  # same streak
    assert _idle_events().count() == 1


def test_a_busy_reading_in_the_window_is_not_idle(rule, deployment):
    readings(deployment, [3.0] * 12 + [50.0] + [3.0] * 12)
    assert evaluate_idle_rules() == 0


def test_no_gpu_metrics_is_never_idle(rule, deployment):
    readings(deployment, [None] * 25)  # CPU readings only
    assert evaluate_idle_rules() == 0


def test_readings_that_do_not_cover_the_window_are_not_idle(rule, deployment):
    readings(deployment, [1.0] * 6)  # only the last 2.5 minutes
    assert evaluate_idle_rules() == 0
    readings(deployment, [1.0, 1.0], end=timezone.now() - timedelta(minutes=9))  # a 6-minute hole after these
    assert evaluate_idle_rules() == 0


def test_a_deployment_running_for_less_than_the_window_is_not_idle(rule, team):
    young = DeploymentFactory(workspace=team["workspace"], running_since=timezone.now() - timedelta(minutes=5))
    readings(young, [0.0] * 25)
    assert evaluate_idle_rules() == 0


def test_busy_again_then_idle_again_is_a_new_streak(rule, deployment):
    now = timezone.now()
    readings(deployment, [2.0] * 25, end=now - timedelta(minutes=30))
    assert evaluate_idle_rules(now=now - timedelta(minutes=30)) == 1
    readings(deployment, [80.0] * 10, end=now - timedelta(minutes=25))  # busy again
    assert evaluate_idle_rules(now=now - timedelta(minutes=25)) == 0
    readings(deployment, [2.0] * 41, end=now)  # idle for the last 20 minutes
    assert evaluate_idle_rules(now=now) == 1
    assert evaluate_idle_rules(now=now) == 0
    assert _idle_events().count() == 2


def test_scope_running_deployments_of_the_rule_or_the_workspace(team, other_team, deployment):
    since = timezone.now() - timedelta(hours=1)
    other = DeploymentFactory(workspace=team["workspace"], running_since=since)
    stopped = DeploymentFactory(workspace=team["workspace"], running_since=since, status=Status.STOPPED)
    stranger = DeploymentFactory(workspace=other_team["workspace"], running_since=since)
    for each in (deployment, other, stopped, stranger):
        readings(each, [0.0] * 25)
    make_rule(team["workspace"], Trigger.IDLE, PARAMS, deployment=deployment)
    assert evaluate_idle_rules() == 1
    make_rule(team["workspace"], Trigger.IDLE, PARAMS)  # workspace-wide
    assert evaluate_idle_rules() == 2
    assert set(_idle_events().values_list("deployment", flat=True)) == {deployment.pk, other.pk}


def test_disabled_rules_do_nothing(team, deployment):
    make_rule(team["workspace"], Trigger.IDLE, PARAMS, enabled=False)
    readings(deployment, [0.0] * 25)
    assert evaluate_idle_rules() == 0
