"""Spot refill against the sandbox clouds: a preempted spot deployment is relaunched as spot at the
current minimum bid, each preemption of a replacement counts a failure, after N failures it falls
back to on-demand (or, without the fallback, people are told); nothing is left running behind."""

import pytest

from automation.models import AutomationEvent, EventType, OperationState
from automation.orchestration import start_operation
from automation.tests.factories_orchestration import (assert_no_leaks, finished, launch_on, offer_on, pump,
                                                      reconcile_all)
from deployments.models import Deployment, DesiredState, Status
from deployments.tests.test_lifecycle_sandbox import connected, drive, status_is  # noqa: F401
from pricing.models import Offer

GPU = "a40"  # RunPod lists it as spot and on-demand, in two clouds (COMMUNITY and SECURE)


@pytest.fixture
def preempted(connected, team, sandbox, settings):  # noqa: F811
    settings.COMPUTEHUB_OPERATION_POLL_S = 0
    source = drive(launch_on(connected, team["developer"], offer_on(connected, "runpod", GPU, spot=True)),
                   status_is(Status.RUNNING))
    sandbox.clouds["runpod"].faults.preempt_spot = True  # and every spot relaunch is taken away too
    return drive(source, status_is(Status.PREEMPTED))


def _replacements(source):
    return list(Deployment.objects.filter(replaces__source=source).distinct().order_by("created_at"))


def _min_bid(deployment):
    return Offer.objects.get(credential=deployment.credential, offer_id=deployment.offer_id, spot=True).min_bid_per_hour


def test_refill_rebids_at_the_minimum_then_falls_back_to_on_demand(preempted, connected, sandbox):  # noqa: F811
    op = start_operation(kind="refill", source=preempted, reason="preempted",
                         params={"max_bid": 1.0, "max_failures": 3, "fallback_on_demand": True})
    assert op.replacement.spot and op.replacement.bid_per_hour == _min_bid(op.replacement)
    pump(op, until=finished)

    tries = [d for d in Deployment.objects.filter(workspace=connected).order_by("created_at") if d.pk != preempted.pk]
    spot_tries, last = tries[:-1], tries[-1]
    assert op.state == OperationState.DONE and op.attempts == len(tries)
    assert 1 <= len(spot_tries) <= 3 and all(d.spot for d in spot_tries) and not last.spot
    # each spot try bid the current minimum on a machine not asked before
    assert len({(d.credential_id, d.offer_id) for d in spot_tries}) == len(spot_tries)
    assert all(d.bid_per_hour == _min_bid(d) for d in spot_tries)
    assert all(d.desired_state == DesiredState.DELETED for d in spot_tries)
    assert last.pk == op.replacement_id and last.status == Status.RUNNING
    preempted.refresh_from_db()
    assert preempted.status == Status.TERMINATED  # its tag cannot leak
    assert op.data["outcome"].startswith("Refilled llm-server on RunPod $") and "on-demand" in op.data["outcome"]
    assert_no_leaks(connected, sandbox)


def test_refill_without_fallback_gives_up_with_an_urgent_event(preempted, connected, sandbox):  # noqa: F811
    op = start_operation(kind="refill", source=preempted, reason="preempted",
                         params={"max_bid": 1.0, "max_failures": 2, "fallback_on_demand": False})
    pump(op, until=finished)

    assert op.state == OperationState.FAILED and op.attempts == 2
    assert AutomationEvent.objects.filter(type=EventType.URGENT, deployment=preempted).count() == 1
    preempted.refresh_from_db()
    assert preempted.desired_state == DesiredState.RUNNING  # left for a person to decide
    assert_no_leaks(connected, sandbox)


def test_a_ceiling_below_every_minimum_bid_goes_straight_to_on_demand(preempted, connected, sandbox):  # noqa: F811
    op = start_operation(kind="refill", source=preempted, reason="preempted",
                         params={"max_bid": 0.01, "fallback_on_demand": True})
    assert not op.replacement.spot and op.attempts == 1
    pump(op, until=finished)
    assert op.state == OperationState.DONE
    reconcile_all(connected)
    assert_no_leaks(connected, sandbox)


def test_on_demand_without_capacity_is_asked_again_after_a_pause(preempted, connected, sandbox):  # noqa: F811
    sandbox.clouds["runpod"].faults.capacity_error = True  # for a while, nothing launches on RunPod
    op = start_operation(kind="refill", source=preempted, reason="preempted",
                         params={"max_bid": 1.0, "max_failures": 1, "fallback_on_demand": True})
    pump(op, until=lambda op: op.state == OperationState.LAUNCHING)
    assert op.finished_at is None and "asking again in 60 s" in preempted.events.last().message
    assert not AutomationEvent.objects.filter(type=EventType.URGENT).exists()

    sandbox.clouds["runpod"].faults.capacity_error = False
    type(op).objects.filter(pk=op.pk).update(next_step_at=op.started_at)  # the pause is over
    pump(op, until=finished)
    assert op.state == OperationState.DONE and not op.replacement.spot
    assert_no_leaks(connected, sandbox)
