"""Cross-cloud failover against the sandbox clouds: the replacement goes to the cheapest equivalent
offer on ANOTHER provider, the next offer is tried when one never comes up, and with nothing
elsewhere the operation fails with an urgent event instead of acting."""

import pytest

from automation.models import AutomationEvent, EventType, Operation, OperationState
from automation.orchestration import start_operation
from automation.selectors.offers import equivalent_offers
from automation.tests.factories_orchestration import assert_no_leaks, finished, launch_on, offer_on, pump
from deployments.models import DesiredState, EventKind, Status
from providers.adapters import adapter_class
from deployments.tests.test_lifecycle_sandbox import connected, drive, status_is  # noqa: F401


@pytest.fixture
def fast(settings):
    settings.COMPUTEHUB_OPERATION_POLL_S = 0
    settings.COMPUTEHUB_REPLACEMENT_SETTLE_S = 0


def _running_on(workspace, user, provider, gpu):
    return drive(launch_on(workspace, user, offer_on(workspace, provider, gpu)), status_is(Status.RUNNING))


def test_failover_picks_the_cheapest_offer_on_another_provider(connected, team, sandbox, fast):  # noqa: F811
    source = _running_on(connected, team["developer"], "runpod", "rtx-a6000")
    elsewhere = equivalent_offers(deployment=source, other_provider=True).first()
    op = start_operation(kind="failover", source=source, reason="down after a restart")

    assert op.replacement.provider == elsewhere.provider != "runpod"
    assert op.replacement.offer_id == elsewhere.offer_id and not op.replacement.spot
    pump(op, until=finished)
    assert op.state == OperationState.DONE and op.attempts == 1
    source.refresh_from_db()
    assert source.status == Status.TERMINATED and op.replacement.status == Status.RUNNING
    assert op.data["outcome"].startswith("Failed over llm-server from RunPod $")
    assert AutomationEvent.objects.filter(type=EventType.ACTION, data__operation_id=op.pk).count() == 1
    assert_no_leaks(connected, sandbox)


def test_a_replacement_that_never_comes_up_is_replaced_by_the_next_offer(connected, team, sandbox, fast):  # noqa: F811
    source = _running_on(connected, team["developer"], "runpod", "rtx-a6000")
    first, second = list(equivalent_offers(deployment=source, other_provider=True))[:2]
    sandbox.clouds[first.provider].faults.outage = True  # its launch never gets through
    op = start_operation(kind="failover", source=source, reason="down")
    stuck = op.replacement
    pump(op, until=lambda op: op.data["running_seen"] == 0, steps=3)
    Operation.objects.filter(pk=op.pk).update(deadline=op.started_at)

    pump(op, until=lambda op: op.replacement_id != stuck.pk)
    assert op.replacement.offer_id == second.offer_id and op.attempts == 2
    stuck.refresh_from_db()
    assert stuck.desired_state == DesiredState.DELETED and stuck.status != Status.RUNNING
    sandbox.clouds[first.provider].faults.outage = False
    pump(op, until=finished)
    assert op.state == OperationState.DONE and op.replacement.provider == second.provider
    assert source.events.filter(kind=EventKind.AUTOMATION, message__contains="did not become healthy").exists()
    assert_no_leaks(connected, sandbox)


def test_no_equivalent_offer_elsewhere_fails_with_an_urgent_event(connected, team, sandbox, fast):  # noqa: F811
    source = _running_on(connected, team["developer"], "runpod", "a40")  # only RunPod has A40s
    op = start_operation(kind="failover", source=source, reason="down")

    assert op.state == OperationState.FAILED and op.replacement is None
    urgent = AutomationEvent.objects.get(type=EventType.URGENT, deployment=source)
    assert urgent.summary == ("Failover of llm-server failed: no equivalent offer on another provider; "
                              "it needs attention")
    assert source.events.filter(kind=EventKind.AUTOMATION, message=urgent.summary).exists()
    source.refresh_from_db()
    assert source.desired_state == DesiredState.RUNNING
    assert_no_leaks(connected, sandbox)


def test_replacements_that_all_fail_end_in_an_urgent_event(
        connected, team, sandbox, fast, monkeypatch):  # noqa: F811
    monkeypatch.setattr(adapter_class("akash"), "bid_wait_s", 0.2)  # no bids come: say so quickly
    source = _running_on(connected, team["developer"], "runpod", "rtx-a6000")
    for name, cloud in sandbox.clouds.items():
        if name != "runpod":
            cloud.faults.capacity_error = True
    op = start_operation(kind="failover", source=source, reason="down", params={"max_attempts": 2})
    tried = []

    def expire_stuck(op):
        if op.replacement_id and op.replacement_id not in tried:
            tried.append(op.replacement_id)
        Operation.objects.filter(pk=op.pk, state=OperationState.WAITING).update(deadline=op.started_at)
    pump(op, until=finished, check=expire_stuck)
    assert op.state == OperationState.FAILED and op.attempts == 2 and len(tried) == 2
    assert AutomationEvent.objects.filter(type=EventType.URGENT, deployment=source).count() == 1
    for cloud in sandbox.clouds.values():
        cloud.faults.capacity_error = False
    assert_no_leaks(connected, sandbox)
