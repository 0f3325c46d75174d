"""Price-aware migration against the sandbox clouds: make before break (never zero running copies,
the old one deleted only once the new one is healthy), rules, budgets and health config follow the
replacement, and a replacement that never becomes healthy is rolled back."""

from decimal import Decimal

import pytest
from django.utils import timezone

from automation.models import (AutomationEvent, Budget, BudgetPeriod, EventType, HealthCheck, HealthState,
                               Operation, OperationState, ProbeKind, Rule)
from automation.orchestration import advance_operations, migrate, start_operation
from automation.tests.factories_orchestration import (assert_no_leaks, finished, launch_on, offer_on, pump,
                                                      reconcile_all)
from deployments.models import DesiredState, EventKind, Status
from deployments.tests.test_lifecycle_sandbox import connected, drive, status_is  # noqa: F401

GPU = "rtx-a6000"


@pytest.fixture
def fast(settings):
    settings.COMPUTEHUB_OPERATION_POLL_S = 0
    settings.COMPUTEHUB_REPLACEMENT_SETTLE_S = 0


@pytest.fixture
def source(connected, team, fast):  # noqa: F811
    """A running deployment on Lambda's A6000, with a health check, a rule and a budget of its own."""
    deployment = drive(launch_on(connected, team["developer"], offer_on(connected, "lambda", GPU)),
                       status_is(Status.RUNNING))
    HealthCheck.objects.create(deployment=deployment, workspace=connected, kind=ProbeKind.HTTP, path="/health",
                               port=8000, migratable=True, state=HealthState.UP)
    Rule.objects.create(workspace=connected, deployment=deployment, name="Restart when down", trigger="down",
                        actions=[{"type": "restart"}])
    Budget.objects.create(workspace=connected, deployment=deployment, period=BudgetPeriod.DAY, limit_usd=Decimal(50))
    return deployment


def _migrate(source):
    return start_operation(kind="migrate", source=source, reason="RunPod is cheaper", params={"min_saving_percent": 20})


def _running_copies(op):
    copies = [op.source] + ([op.replacement] if op.replacement_id else [])
    for copy in copies:
        copy.refresh_from_db()
    return [copy for copy in copies if copy.status == Status.RUNNING]


def _replacement_check(op):
    return HealthCheck.objects.get(deployment_id=op.replacement_id)


def test_migration_is_make_before_break(source, sandbox, connected):  # noqa: F811
    cheapest = offer_on(connected, "runpod", GPU)
    op = _migrate(source)
    assert op.state == OperationState.WAITING and op.replacement.offer_id == cheapest.offer_id
    assert op.replacement.provider == "runpod" and op.replacement.name == source.name
    assert _replacement_check(op).path == "/health" and _replacement_check(op).state == HealthState.NEW

    def never_zero_and_never_early(op):
        assert _running_copies(op), "a moment with no running copy"
        if op.source.desired_state == DesiredState.DELETED:
            assert _replacement_check(op).state == HealthState.UP, "the old one was deleted before the new was healthy"

    # Running but not yet reported healthy by the checker: the source stays, however long it takes.
    pump(op, until=lambda op: op.replacement.status == Status.RUNNING and op.data["running_seen"] >= 3,
         check=never_zero_and_never_early)
    source.refresh_from_db()
    assert source.desired_state == DesiredState.RUNNING and op.state == OperationState.WAITING

    HealthCheck.objects.filter(deployment_id=op.replacement_id).update(state=HealthState.UP)  # the checker says up
    pump(op, until=finished, check=never_zero_and_never_early)

    assert op.state == OperationState.DONE
    source.refresh_from_db()
    replacement = op.replacement
    assert source.status == Status.TERMINATED and replacement.status == Status.RUNNING
    assert Rule.objects.get().deployment_id == replacement.pk and Budget.objects.get().deployment_id == replacement.pk
    assert _replacement_check(op).migratable and not HealthCheck.objects.get(deployment=source).enabled
    summary = AutomationEvent.objects.get(type=EventType.ACTION, data__operation_id=op.pk).summary
    old, new = source.price_per_hour, replacement.price_per_hour  # the sandbox's prices drift with the clock
    assert summary == (f"Migrated llm-server from Lambda Cloud ${old:.2f}/h to RunPod ${new:.2f}/h "
                       f"(saves {round((old - new) / old * 100)}%)")
    assert source.events.filter(kind=EventKind.AUTOMATION, message__startswith="Migrated").exists()
    assert replacement.events.filter(kind=EventKind.AUTOMATION, message__startswith="Migrated").exists()
    assert_no_leaks(connected, sandbox)


def test_a_replacement_that_never_becomes_healthy_is_rolled_back(source, sandbox, connected):  # noqa: F811
    op = _migrate(source)
    pump(op, until=lambda op: op.replacement.status == Status.RUNNING and op.data["running_seen"] >= 2,
         check=lambda op: _running_copies(op) or pytest.fail("no running copy"))
    Operation.objects.filter(pk=op.pk).update(deadline=op.started_at)  # the 15 minutes are over
    pump(op, until=finished, check=lambda op: _running_copies(op) or pytest.fail("no running copy"))

    assert op.state == OperationState.ROLLED_BACK
    assert op.data["outcome"].startswith("Migration of llm-server rolled back: the replacement did not become healthy")
    source.refresh_from_db()
    assert source.desired_state == DesiredState.RUNNING and source.status == Status.RUNNING
    assert Rule.objects.get().deployment_id == source.pk and HealthCheck.objects.get(deployment=source).enabled
    assert op.replacement.desired_state == DesiredState.DELETED
    assert source.events.filter(kind=EventKind.AUTOMATION, message__contains="rolled back").exists()
    assert AutomationEvent.objects.filter(type=EventType.ACTION, summary__contains="rolled back").count() == 1
    assert_no_leaks(connected, sandbox)


def test_a_replacement_that_keeps_failing_to_launch_is_rolled_back(source, sandbox, connected, monkeypatch):  # noqa: F811
    monkeypatch.setattr(migrate, "RELAUNCH_PAUSE_S", 0)
    sandbox.clouds["runpod"].faults.capacity_error = True
    op = _migrate(source)
    pump(op, until=finished)
    assert op.state == OperationState.ROLLED_BACK and "the replacement failed" in op.data["outcome"]
    assert op.attempts == migrate.MAX_LAUNCHES
    source.refresh_from_db()
    assert source.status == Status.RUNNING and source.desired_state == DesiredState.RUNNING
    assert_no_leaks(connected, sandbox)


def test_a_replacement_the_provider_had_no_capacity_for_is_launched_again_after_a_pause(source, sandbox, connected):  # noqa: F811
    sandbox.clouds["runpod"].faults.capacity_error = True  # a passing shortage
    op = _migrate(source)
    pump(op, until=lambda op: op.state == OperationState.LAUNCHING)
    assert op.finished_at is None and op.next_step_at > timezone.now()
    assert source.events.filter(message__contains="trying again in 60 s").count() == 1

    sandbox.clouds["runpod"].faults.capacity_error = False
    Operation.objects.filter(pk=op.pk).update(next_step_at=timezone.now())  # the pause is over
    pump(op, until=lambda op: op.replacement.status == Status.RUNNING)
    HealthCheck.objects.filter(deployment_id=op.replacement_id).update(state=HealthState.UP)
    pump(op, until=finished)
    source.refresh_from_db()
    assert op.state == OperationState.DONE and op.attempts == 2 and source.status == Status.TERMINATED
    assert_no_leaks(connected, sandbox)


def test_no_cheaper_offer_any_more_fails_without_launching(source, connected):  # noqa: F811
    op = start_operation(kind="migrate", source=source, reason="cheaper", params={"min_saving_percent": 90})
    assert op.state == OperationState.FAILED and op.replacement is None and "no longer cheaper" in op.data["outcome"]
    assert source.events.filter(kind=EventKind.AUTOMATION, message__contains="no longer cheaper").exists()


def test_one_unfinished_operation_per_deployment(source, connected):  # noqa: F811
    first = _migrate(source)
    assert first.state == OperationState.WAITING
    assert _migrate(source) is None
    assert start_operation(kind="failover", source=source, reason="down") is None
    assert Operation.objects.filter(source=source).count() == 1
    reconcile_all(connected)


def test_a_deployment_deleted_meanwhile_stops_the_migration(source, sandbox, connected, team):  # noqa: F811
    from deployments.services import deployment_action

    op = _migrate(source)
    deployment_action(deployment=source, action="delete", user=team["developer"])
    pump(op, until=finished)
    assert op.state == OperationState.ROLLED_BACK and "stopped or deleted meanwhile" in op.data["outcome"]
    assert op.replacement.desired_state == DesiredState.DELETED
    assert_no_leaks(connected, sandbox)


def test_the_old_one_is_not_deleted_while_its_provider_is_not_answering(source, sandbox, connected):  # noqa: F811
    op = _migrate(source)
    pump(op, until=lambda op: op.replacement.status == Status.RUNNING)
    HealthCheck.objects.filter(deployment_id=op.replacement_id).update(state=HealthState.UP)
    HealthCheck.objects.filter(deployment=source).update(unknown_since=source.created_at)  # Lambda went quiet

    for _ in range(5):
        advance_operations()
    op.refresh_from_db()
    source.refresh_from_db()
    assert op.state == OperationState.SWITCHING and source.desired_state == DesiredState.RUNNING
    assert Rule.objects.get().deployment_id == op.replacement_id  # the replacement already serves
    assert source.events.filter(message__contains="deleted once Lambda Cloud answers again").count() == 1

    HealthCheck.objects.filter(deployment=source).update(unknown_since=None)  # it answers again
    pump(op, until=finished)
    source.refresh_from_db()
    assert op.state == OperationState.DONE and source.status == Status.TERMINATED
    assert_no_leaks(connected, sandbox)


def test_the_old_one_is_not_deleted_when_its_provider_stopped_answering_a_moment_ago(source, sandbox, connected):  # noqa: F811
    op = _migrate(source)
    pump(op, until=lambda op: op.replacement.status == Status.RUNNING)
    HealthCheck.objects.filter(deployment_id=op.replacement_id).update(state=HealthState.UP)
    sandbox.clouds["lambda"].faults.outage = True  # no check or reconcile has noticed it yet

    for _ in range(3):
        advance_operations()
    op.refresh_from_db()
    source.refresh_from_db()
    assert op.state == OperationState.SWITCHING and source.desired_state == DesiredState.RUNNING
    assert source.events.filter(message__contains="deleted once Lambda Cloud answers again").count() == 1

    sandbox.clouds["lambda"].faults.outage = False
    pump(op, until=finished)
    source.refresh_from_db()
    assert op.state == OperationState.DONE and source.status == Status.TERMINATED
    assert_no_leaks(connected, sandbox)
