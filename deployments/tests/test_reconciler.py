"""The sweep's choice of deployments, the schedule and backoff, and the autopilot runner."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from deployments.models import Deployment, DesiredState, Status
from deployments.reconciler import schedule
from deployments.reconciler.runner import PeriodicJob, Runner
from deployments.tests.factories import DeploymentFactory


def test_backoff_is_exponential_capped_and_honours_retry_after():
    assert [schedule.backoff_s(n) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert schedule.backoff_s(20) == schedule.BACKOFF_CAP_S
    assert schedule.backoff_s(1, retry_after=42) == 42


def test_the_sweep_picks_what_is_due_and_skips_finished_or_leased(team):
    ws, now = team["workspace"], timezone.now()
    new = DeploymentFactory(workspace=ws, status=Status.PENDING)
    due = DeploymentFactory(workspace=ws, next_attempt_at=now - timedelta(seconds=1))
    DeploymentFactory(workspace=ws, next_attempt_at=now + timedelta(seconds=30))  # observed recently
    DeploymentFactory(workspace=ws, status=Status.TERMINATED, desired_state=DesiredState.DELETED)
    DeploymentFactory(workspace=ws, status=Status.FAILED, instance_id="")  # launch refused: nothing to do
    DeploymentFactory(workspace=ws, lease_owner="w", lease_until=now + timedelta(seconds=60))
    expired = DeploymentFactory(workspace=ws, lease_owner="w", lease_until=now - timedelta(seconds=1))
    assert set(schedule.due(now).values_list("pk", flat=True)) == {new.pk, due.pk, expired.pk}


@pytest.mark.parametrize(("status", "desired", "expected"), [
    (Status.RUNNING, DesiredState.RUNNING, 30), (Status.STOPPED, DesiredState.STOPPED, 120),
    (Status.STARTING, DesiredState.RUNNING, schedule.CONFIRM_S), (Status.RUNNING, DesiredState.STOPPED, None),
    (Status.UNKNOWN, DesiredState.RUNNING, 30),
])
def test_next_look(status, desired, expected):
    deployment = Deployment(status=status, desired_state=desired)
    assert schedule.next_look_s(deployment) == expected


def test_a_persons_action_is_not_overwritten_by_the_schedule(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    stale = type(deployment).objects.get(pk=deployment.pk)
    type(deployment).objects.filter(pk=deployment.pk).update(desired_state=DesiredState.STOPPED, next_attempt_at=None)
    schedule.schedule_after_success(stale)
    deployment.refresh_from_db()
    assert deployment.next_attempt_at is None  # still due at the next sweep


def test_the_runner_runs_each_job_on_its_interval_and_survives_failures(db):
    clock, ran = [0.0], []

    def boom():
        raise RuntimeError("bug")
    runner = Runner([PeriodicJob("a", 10, lambda: ran.append("a")), PeriodicJob("b", 5, boom)], clock=lambda: clock[0])
    runner.run_due()
    clock[0] = 6
    runner.run_due()
    clock[0] = 10
    runner.run_due()
    assert ran == ["a", "a"]
    runner.stopping.set()
    runner.run_forever(tick_s=0)  # returns at once once asked to stop


def test_autopilot_once_runs_the_sweep(team, settings):
    settings.COMPUTEHUB_LOCAL_PROVIDER = False
    DeploymentFactory(workspace=team["workspace"], status=Status.PENDING, desired_state=DesiredState.STOPPED)
    call_command("autopilot", "--once")
    assert settings.COMPUTEHUB_RECONCILE_INTERVAL_S <= 15
