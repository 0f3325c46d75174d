"""Races between people's actions and the reconciler: a retry's backoff or a busy lease never
delays a request made mid-step, actions are conditional on the request they checked, a restart
clears only itself, the sweep takes fresh requests first (PostgreSQL too) and one hanging
provider does not stall the others."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from computehub.errors import ApplicationError
from deployments.models import Deployment, DesiredState, Status
from deployments.reconciler import lease, reconcile_deployment, run, schedule, steps
from deployments.reconciler.calls import CALL_TIMEOUT_S, _timeout_s
from deployments.services import actions, deployment_action
from deployments.reconciler.state import observed
from deployments.tests.factories import DeploymentFactory
from providers.adapters.base import Instance, InstanceStatus


@pytest.fixture(autouse=True)
def _no_queue(monkeypatch):
    monkeypatch.setattr("deployments.tasks.async_task", lambda *args, **kwargs: None)


def _stale(deployment):
    return Deployment.objects.get(pk=deployment.pk)


def test_a_retry_does_not_delay_an_action_taken_mid_step(team):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="i-1")
    read_by_step = _stale(deployment)  # the step began (desired: running)
    deployment_action(deployment=deployment, action="delete", user=team["developer"])

    schedule.retry_later(read_by_step, "The provider does not support this.", delay_s=3600)
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.DELETED
    assert deployment.next_attempt_at is None and deployment.attempts == 0  # due at the next sweep


def test_a_busy_lease_leaves_the_request_due_now(team):
    deployment = DeploymentFactory(workspace=team["workspace"], next_attempt_at=timezone.now() + timedelta(seconds=300))
    assert lease.claim(deployment.pk, "other-worker")
    assert reconcile_deployment(deployment.pk) == "busy"
    deployment.refresh_from_db()
    assert deployment.next_attempt_at <= timezone.now()
    assert deployment.lease_owner == "other-worker"  # the holder keeps its lease


def test_the_sweep_does_not_reschedule_what_another_worker_holds(team):
    later = timezone.now() + timedelta(seconds=300)
    deployment = DeploymentFactory(workspace=team["workspace"], next_attempt_at=later)
    assert lease.claim(deployment.pk, "other-worker")
    assert reconcile_deployment(deployment.pk, force=False) == "busy"
    deployment.refresh_from_db()
    assert deployment.next_attempt_at == later


def test_a_terminate_is_never_retried_later_than_30_s(team):
    deployment = DeploymentFactory(workspace=team["workspace"], desired_state=DesiredState.DELETED,
                                   instance_id="i-1", attempts=12)
    schedule.retry_later(deployment, "The provider refused the key.", delay_s=schedule.BACKOFF_CAP_S)
    deployment.refresh_from_db()
    assert deployment.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    assert schedule.next_look_s(Deployment(status=Status.FAILED, desired_state=DesiredState.DELETED)) is None


def test_a_start_racing_a_delete_does_not_undo_it(team):
    deployment = DeploymentFactory(workspace=team["workspace"], desired_state=DesiredState.STOPPED,
                                   status=Status.STOPPED, instance_id="i-1")
    seen_by_start = _stale(deployment)
    deployment_action(deployment=deployment, action="delete", user=team["developer"])

    with pytest.raises(ApplicationError) as refused:
        deployment_action(deployment=seen_by_start, action="start", user=team["developer"])
    assert refused.value.status == 409
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.DELETED


def test_a_row_that_keeps_changing_is_answered_409(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], desired_state=DesiredState.STOPPED,
                                   status=Status.STOPPED)
    monkeypatch.setattr(actions, "_apply_if_unchanged", lambda *args: False)
    with pytest.raises(ApplicationError) as conflict:
        deployment_action(deployment=deployment, action="start", user=team["developer"])
    assert conflict.value.status == 409 and "changed meanwhile" in conflict.value.message


def test_clearing_a_restart_keeps_a_newer_request(team):
    first = timezone.now() - timedelta(seconds=60)
    deployment = DeploymentFactory(workspace=team["workspace"], restart_requested_at=first)
    acted_on = _stale(deployment)
    newer = timezone.now()
    Deployment.objects.filter(pk=deployment.pk).update(restart_requested_at=newer)

    steps._clear_restart(acted_on)
    deployment.refresh_from_db()
    assert deployment.restart_requested_at == newer


def test_fresh_requests_come_first_in_the_sweep(team):
    now = timezone.now()
    for seconds in (30, 20, 10):
        DeploymentFactory(workspace=team["workspace"], next_attempt_at=now - timedelta(seconds=seconds))
    fresh = DeploymentFactory(workspace=team["workspace"], next_attempt_at=None)
    assert list(schedule.due(now).values_list("pk", flat=True)[:1]) == [fresh.pk]  # NULLS LAST on PostgreSQL


def test_a_hanging_provider_delays_only_its_own_deployments(team, monkeypatch):
    slow = DeploymentFactory(workspace=team["workspace"], next_attempt_at=None)
    quick = DeploymentFactory(workspace=team["workspace"], next_attempt_at=None)  # another credential
    assert slow.credential_id != quick.credential_id
    quick_done, timeouts = threading.Event(), []

    def fake(deployment_id, *, force):
        timeouts.append(_timeout_s.get())
        if deployment_id == slow.pk:  # hangs until the other credential's deployment got its turn
            return "observed" if quick_done.wait(5) else "stalled"
        quick_done.set()
        return "observed"
    monkeypatch.setattr(run, "reconcile_deployment", fake)

    assert run.sweep() == {"observed": 2}
    assert timeouts == [run.SWEEP_CALL_TIMEOUT_S] * 2 and run.SWEEP_CALL_TIMEOUT_S < CALL_TIMEOUT_S
    assert _timeout_s.get() == CALL_TIMEOUT_S  # one-off reconciles keep the longer bound


@pytest.mark.parametrize("desired, before, after", [
    (DesiredState.STOPPED, Status.STOPPING, Status.STOPPED),  # the stop we asked for, however the provider words it
    (DesiredState.RUNNING, Status.RUNNING, Status.FAILED),  # nobody asked: its process ended by itself
])
def test_an_exit_reads_as_the_stop_asked_for_or_as_a_failure(team, desired, before, after):
    deployment = DeploymentFactory(workspace=team["workspace"], desired_state=desired, status=before)
    observed(deployment, Instance(instance_id=deployment.instance_id, tag=None, status=InstanceStatus.FAILED,
                                  raw_status="EXITED"))
    assert Deployment.objects.get(pk=deployment.pk).status == after
