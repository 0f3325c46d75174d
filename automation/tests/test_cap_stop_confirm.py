"""The cost cap's stop: requested at once, re-requested every 30 s until the provider reports the
instance stopped (or terminated, for a delete), then finished with a timeline note naming the
figures; one urgent alert when 5 minutes pass unconfirmed, and the retries continue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import AutomationEvent, EventType, OperationState
from automation.orchestration import cap_stop
from automation.tests.factories_budgets import budget_for, cap_stop_operation
from deployments.models import DesiredState, EventKind, Status
from deployments.reconciler import state
from deployments.tests.factories import DeploymentFactory


class Clock:
    def __init__(self):
        self.now = timezone.now()

    def __call__(self):
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(cap_stop, "clock", fake)
    return fake


pytestmark = pytest.mark.usefixtures("no_task_queue")


@pytest.fixture
def capped(team):
    """A running RunPod deployment that has spent its whole $50 budget."""
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1", spend_usd=50.0,
                                   spend_accrued_at=timezone.now(), running_since=timezone.now())
    budget = budget_for(team["workspace"], deployment=deployment, limit_usd="50.00")
    return deployment, budget


def _notes(deployment) -> list[str]:
    return list(deployment.events.filter(kind=EventKind.AUTOMATION).values_list("message", flat=True))


def _urgent():
    return list(AutomationEvent.objects.filter(type=EventType.URGENT))


def test_begin_requests_the_stop_and_waits_for_confirmation(capped, clock):
    deployment, budget = capped
    op = cap_stop_operation(deployment, budget_id=budget.pk, spent_usd=50.0, limit_usd=50.0)
    cap_stop.begin(op)
    deployment.refresh_from_db()
    op.refresh_from_db()
    assert deployment.desired_state == DesiredState.STOPPED
    assert deployment.events.filter(kind=EventKind.ACTION, message="Stop requested").count() == 1
    assert op.state == OperationState.CONFIRMING and op.next_step_at == clock.now + timedelta(seconds=30)
    assert _notes(deployment) == ["Cost cap: stop requested at $50.00 of $50.00 budget"]


def test_it_asks_again_every_30_s_until_the_provider_confirms(capped, clock):
    deployment, budget = capped
    op = cap_stop_operation(deployment, budget_id=budget.pk, spent_usd=50.0, limit_usd=50.0)
    cap_stop.begin(op)
    for _ in range(3):  # the reconciler's stop call keeps failing: nothing confirmed yet
        clock.tick(30)
        cap_stop.advance(op)
        deployment.refresh_from_db()
        assert deployment.next_attempt_at == clock.now  # the reconciler is due again right now
    assert op.attempts == 4 and op.finished_at is None and op.next_step_at == clock.now + timedelta(seconds=30)

    clock.tick(10)
    cap_stop.advance(op)  # looked early: only looks, does not ask again
    assert op.attempts == 4

    assert state.set_status(deployment, Status.STOPPED)  # the provider reports it stopped
    clock.tick(20)
    cap_stop.advance(op)
    op.refresh_from_db()
    assert op.state == OperationState.DONE and op.finished_at == clock.now and op.next_step_at is None
    assert _notes(deployment)[-1] == "Cost cap: stopped at $50.00 of $50.00 budget, confirmed by RunPod"
    done = AutomationEvent.objects.get(type=EventType.ACTION, dedup_key=f"operation:{op.pk}:done")
    assert done.deployment == deployment and _urgent() == []


def test_one_urgent_alert_after_five_unconfirmed_minutes_and_the_retries_go_on(capped, clock):
    deployment, _ = capped
    op = cap_stop_operation(deployment)
    cap_stop.begin(op)
    for _ in range(9):  # 4.5 minutes
        clock.tick(30)
        cap_stop.advance(op)
    assert _urgent() == []
    for _ in range(6):  # past 5 minutes, and on
        clock.tick(30)
        cap_stop.advance(op)
    [urgent] = _urgent()
    assert urgent.summary == f"Cost cap: stop of {deployment.name} not confirmed by the provider after 5 minutes"
    assert urgent.deployment == deployment and op.finished_at is None and op.attempts == 16
    assert state.set_status(deployment, Status.STOPPED)
    clock.tick(30)
    cap_stop.advance(op)
    assert op.state == OperationState.DONE and len(_urgent()) == 1


def test_an_already_stopped_deployment_is_confirmed_without_a_new_request(capped, clock):
    deployment, budget = capped
    deployment.desired_state = DesiredState.STOPPED
    deployment.save()
    assert state.set_status(deployment, Status.STOPPED)
    op = cap_stop_operation(deployment, budget_id=budget.pk)
    cap_stop.begin(op)
    assert not deployment.events.filter(kind=EventKind.ACTION).exists()  # no refused request on the timeline
    clock.tick(30)
    cap_stop.advance(op)
    assert op.state == OperationState.DONE


def test_a_refused_request_goes_straight_to_confirming(capped, clock):
    deployment, _ = capped
    assert state.set_status(deployment, Status.TERMINATED)  # ended meanwhile: a stop is refused (409)
    op = cap_stop_operation(deployment, spent_usd=50.0, limit_usd=50.0)
    cap_stop.begin(op)
    assert op.state == OperationState.CONFIRMING
    assert "refused" in _notes(deployment)[0]
    clock.tick(30)
    cap_stop.advance(op)
    assert op.state == OperationState.DONE  # terminated: the bill has stopped too


def test_a_delete_is_confirmed_only_once_terminated(capped, clock):
    deployment, _ = capped
    op = cap_stop_operation(deployment, action="delete", spent_usd=50.0, limit_usd=50.0)
    cap_stop.begin(op)
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.DELETED
    assert state.set_status(deployment, Status.STOPPED)
    clock.tick(30)
    cap_stop.advance(op)
    assert op.state == OperationState.CONFIRMING
    assert state.set_status(deployment, Status.TERMINATED)
    clock.tick(30)
    cap_stop.advance(op)
    assert op.state == OperationState.DONE
    assert _notes(deployment)[-1] == "Cost cap: deleted at $50.00 of $50.00 budget, confirmed by RunPod"


def test_a_worker_without_the_lease_changes_nothing(capped, clock):
    deployment, _ = capped
    op = cap_stop_operation(deployment)
    cap_stop.begin(op)
    op.lease_owner = "a-worker-whose-lease-expired"
    assert state.set_status(deployment, Status.STOPPED)
    clock.tick(30)
    cap_stop.advance(op)
    op.refresh_from_db()
    assert op.state == OperationState.CONFIRMING and op.finished_at is None
    assert not AutomationEvent.objects.filter(type=EventType.ACTION).exists()
