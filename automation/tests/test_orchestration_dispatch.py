"""The dispatcher under failure: a worker that dies mid-operation holds it only until its lease
expires, and the next worker finishes it from what the row says (the replacement it finds via
`op.replacement`), never launching a second copy or leaving one behind."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import Operation, OperationState
from automation.orchestration import advance_operations, base, replacement, start_operation
from automation.tests.factories_orchestration import assert_no_leaks, finished, launch_on, offer_on, pump
from deployments.models import Deployment, Status
from deployments.tests.test_lifecycle_sandbox import connected, drive, status_is  # noqa: F401


class Killed(BaseException):
    """The worker dying: not an Exception, so nothing in the dispatcher handles it (or releases)."""


@pytest.fixture
def source(connected, team, settings):  # noqa: F811
    settings.COMPUTEHUB_OPERATION_POLL_S = 0
    settings.COMPUTEHUB_REPLACEMENT_SETTLE_S = 0
    return drive(launch_on(connected, team["developer"], offer_on(connected, "lambda", "rtx-a6000")),
                 status_is(Status.RUNNING))


def _die_once(monkeypatch, module, name, *, when=lambda *args: True):
    original, died = getattr(module, name), []

    def dying(*args, **kwargs):
        if not died and when(*args):
            died.append(True)
            raise Killed()
        return original(*args, **kwargs)
    monkeypatch.setattr(module, name, dying)


def _expire_lease(op_id) -> None:
    Operation.objects.filter(pk=op_id).update(lease_until=timezone.now() - timedelta(seconds=1))


def _migrate(source):
    return start_operation(kind="migrate", source=source, reason="cheaper", params={"min_saving_percent": 20})


def test_a_worker_dying_after_the_launch_lets_another_finish_without_launching_twice(
        source, connected, sandbox, monkeypatch):  # noqa: F811
    _die_once(monkeypatch, base, "note_both")
    with pytest.raises(Killed):
        _migrate(source)
    op = Operation.objects.get(source=source)
    assert op.state == OperationState.WAITING and op.replacement_id is not None and op.lease_owner
    assert advance_operations() == 0  # the dead worker's lease still holds it

    _expire_lease(op.pk)
    pump(op, until=finished)
    assert op.state == OperationState.DONE and op.attempts == 1
    assert Deployment.objects.filter(workspace=connected).count() == 2
    assert_no_leaks(connected, sandbox)


def test_a_worker_dying_inside_the_launch_leaves_no_replacement_behind(
        source, connected, sandbox, monkeypatch):  # noqa: F811
    _die_once(monkeypatch, replacement, "copy_health_config")
    with pytest.raises(Killed):
        _migrate(source)
    op = Operation.objects.get(source=source)
    assert op.state == OperationState.LAUNCHING and op.replacement_id is None
    assert Deployment.objects.filter(workspace=connected).count() == 1  # the launch was rolled back with it

    _expire_lease(op.pk)
    pump(op, until=finished)
    assert op.state == OperationState.DONE and op.attempts == 1
    assert Deployment.objects.filter(workspace=connected).count() == 2
    assert_no_leaks(connected, sandbox)


def test_a_worker_dying_mid_switch_is_finished_by_the_next(source, connected, sandbox, monkeypatch):  # noqa: F811
    _die_once(monkeypatch, replacement, "_delete", when=lambda deployment: deployment.pk == source.pk)
    op = _migrate(source)
    with pytest.raises(Killed):
        pump(op, until=finished)
    op.refresh_from_db()
    assert op.state == OperationState.SWITCHING
    source.refresh_from_db()
    assert source.status == Status.RUNNING  # not deleted yet: the dead worker got no further

    _expire_lease(op.pk)
    pump(op, until=finished)
    assert op.state == OperationState.DONE and Deployment.objects.filter(workspace=connected).count() == 2
    assert_no_leaks(connected, sandbox)


def test_a_finished_operation_lets_a_new_one_start(source, connected):  # noqa: F811
    first = start_operation(kind="migrate", source=source, reason="cheaper", params={"min_saving_percent": 95})
    assert first.state == OperationState.FAILED
    second = _migrate(source)
    assert second is not None and second.pk != first.pk and second.state == OperationState.WAITING
    assert _migrate(source) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_make_one_operation(team, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from automation.orchestration import migrate
    from deployments.tests.factories import DeploymentFactory

    monkeypatch.setattr(migrate, "begin", lambda op: None)  # stays unfinished, as while a replacement comes up
    source = DeploymentFactory(workspace=team["workspace"])

    def start(_):
        try:
            return start_operation(kind="migrate", source=source, reason="cheaper")
        finally:
            connections.close_all()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(start, range(4)))
    assert sum(result is not None for result in results) == 1
    assert Operation.objects.filter(source=source, finished_at__isnull=True).count() == 1
