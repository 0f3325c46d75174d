"""Status changes recorded by the reconciler become automation events: preempted, failed after
running, failed to start; once per change, whatever calls it again."""

import pytest

from automation.models import AutomationEvent, EventType
from automation.triggers.status import on_status_change
from deployments.models import DesiredState, Status
from deployments.reconciler.state import mark_failed, mark_terminated, set_status
from deployments.tests.factories import DeploymentFactory


def _events(deployment):
    return list(AutomationEvent.objects.filter(deployment=deployment).values_list("type", flat=True))


def test_a_preempted_spot_instance_emits_preempted(team):
    deployment = DeploymentFactory(workspace=team["workspace"], spot=True, status=Status.RUNNING)
    assert set_status(deployment, Status.PREEMPTED, raw_status="exited")
    event = AutomationEvent.objects.get(deployment=deployment)
    assert event.type == EventType.PREEMPTED and event.workspace == team["workspace"]
    assert event.data["raw_status"] == "exited" and event.data["previous"] == Status.RUNNING
    assert "rule_id" not in event.data  # matched against every fitting rule


def test_failing_after_running_emits_failed_with_the_scrubbed_error(team):
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.RUNNING)
    assert mark_failed(deployment, "container exited with code 137")
    event = AutomationEvent.objects.get(deployment=deployment)
    assert event.type == EventType.FAILED
    assert event.data["last_error"] == "container exited with code 137"


def test_failing_before_it_ever_ran_is_failed_to_start(team):
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.STARTING)
    assert mark_failed(deployment, "no capacity")
    assert _events(deployment) == [EventType.FAILED_TO_START]


def test_it_counts_as_having_run_even_when_it_failed_from_another_status(team):
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.STARTING)
    set_status(deployment, Status.RUNNING)
    set_status(deployment, Status.UNKNOWN)
    mark_failed(deployment, "gone")
    assert _events(deployment) == [EventType.FAILED]


def test_terminated_without_being_asked_before_running_is_failed_to_start(team):
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.PROVISIONING)
    assert mark_terminated(deployment, "the provider removed it")
    assert _events(deployment) == [EventType.FAILED_TO_START]


@pytest.mark.parametrize("desired", [DesiredState.DELETED, DesiredState.STOPPED])
def test_an_asked_for_termination_or_a_stop_is_no_event(team, desired):
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.RUNNING, desired_state=desired)
    set_status(deployment, Status.STOPPED)
    mark_terminated(deployment, "deleted by its owner")
    assert _events(deployment) == []


def test_ordinary_progress_is_no_event(team):
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.PENDING)
    for status in (Status.PROVISIONING, Status.STARTING, Status.RUNNING, Status.STOPPING, Status.STOPPED):
        set_status(deployment, status)
    assert _events(deployment) == []


def test_repeats_of_one_change_write_one_event(team):
    deployment = DeploymentFactory(workspace=team["workspace"], spot=True, status=Status.RUNNING)
    set_status(deployment, Status.PREEMPTED)
    assert not on_status_change(deployment, Status.RUNNING, Status.PREEMPTED)  # a second worker's report
    assert _events(deployment) == [EventType.PREEMPTED]


def test_a_later_preemption_is_a_new_event(team):
    deployment = DeploymentFactory(workspace=team["workspace"], spot=True, status=Status.RUNNING)
    set_status(deployment, Status.PREEMPTED)
    set_status(deployment, Status.RUNNING)
    set_status(deployment, Status.PREEMPTED)
    assert _events(deployment) == [EventType.PREEMPTED, EventType.PREEMPTED]


def test_a_failing_trigger_never_breaks_the_reconcilers_write(team, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("automation bug")
    monkeypatch.setattr("automation.triggers.status._event_type", broken)
    deployment = DeploymentFactory(workspace=team["workspace"], status=Status.RUNNING)
    assert mark_failed(deployment, "crashed")
    deployment.refresh_from_db()
    assert deployment.status == Status.FAILED and _events(deployment) == []
