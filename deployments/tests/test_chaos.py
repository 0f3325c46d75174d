"""Faults around the reconciler against the RunPod sandbox: lost creates are adopted (never a
second instance), terminate is retried until confirmed, unknown statuses cause no action, the
lease keeps two reconcilers apart, and orphans are reported and terminated."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.reconciler import lease, reconcile_deployment, reconcile_orphans, steps
from deployments.reconciler.calls import provider_call
from deployments.services import deployment_action
from deployments.tests.test_lifecycle_sandbox import connected, drive, launch, live_tagged, status_is  # noqa: F401
from providers.adapters import (AuthError, Instance, InstanceSpec, InstanceStatus, ProviderUnavailable, adapter_class)
from providers.models import ProviderCredential

KIND = "runpod"
Adapter = adapter_class(KIND)


class Killed(BaseException):
    """The worker dying: not an Exception, so nothing in the reconciler handles it."""


@pytest.fixture
def job(connected, team):  # noqa: F811
    return launch(connected, team["developer"], KIND)


@pytest.fixture
def running(job):
    return drive(job, status_is(Status.RUNNING))


def _fail_first(monkeypatch, method, times, exc_factory, *, after_original=False):
    original, calls = getattr(Adapter, method), []

    async def flaky(self, *args):
        calls.append(args)
        if len(calls) <= times:
            if after_original:
                await original(self, *args)
            raise exc_factory()
        return await original(self, *args)
    monkeypatch.setattr(Adapter, method, flaky)
    return calls


def test_a_create_that_timed_out_after_the_provider_made_it_is_adopted(job, monkeypatch):
    _fail_first(monkeypatch, "create_instance", 1, TimeoutError, after_original=True)

    assert reconcile_deployment(job.pk) == "retry"
    job.refresh_from_db()
    assert job.instance_id == "" and job.status == Status.PENDING and job.attempts == 1
    assert len(live_tagged(job)) == 1  # the provider made it

    assert reconcile_deployment(job.pk) == "adopted"
    job.refresh_from_db()
    assert [i.instance_id for i in live_tagged(job)] == [job.instance_id]
    assert job.events.filter(message__startswith="Adopted the existing tagged instance").exists()


def test_a_worker_killed_between_create_and_the_database_write_leaks_nothing(job, monkeypatch):
    def die(*args, **kwargs):
        raise Killed()
    monkeypatch.setattr(steps, "save_created", die)
    with pytest.raises(Killed):
        reconcile_deployment(job.pk)
    job.refresh_from_db()
    assert job.instance_id == "" and len(live_tagged(job)) == 1
    monkeypatch.undo()
    Deployment.objects.filter(pk=job.pk).update(lease_owner="dead", lease_until=timezone.now() - timedelta(seconds=1))

    drive(job, status_is(Status.RUNNING))
    assert [i.instance_id for i in live_tagged(job)] == [job.instance_id]


def test_terminate_is_retried_and_terminated_only_once_the_provider_confirms(running, team, monkeypatch):
    calls = _fail_first(monkeypatch, "terminate", 2, ProviderUnavailable)
    deployment_action(deployment=running, action="delete", user=team["developer"])

    for attempt in (1, 2):
        assert reconcile_deployment(running.pk) == "retry"
        running.refresh_from_db()
        assert running.status == Status.RUNNING and running.terminated_at is None
        assert running.attempts == attempt and "unreachable" in running.last_error
        assert running.next_attempt_at > timezone.now()
    assert running.events.filter(kind=EventKind.ERROR).count() == 1  # one event per new reason

    assert reconcile_deployment(running.pk) == "terminated"
    running.refresh_from_db()
    assert len(calls) == 3 and running.status == Status.TERMINATED and running.terminated_at is not None
    assert live_tagged(running) == [] and running.last_error == ""


def test_an_unknown_status_is_shown_and_nothing_is_done(running, team, monkeypatch):
    async def weird(self, instance_id):
        return Instance(instance_id=instance_id, tag=None, status=InstanceStatus.UNKNOWN, raw_status="HIBERNATING")

    async def never(self, instance_id):
        pytest.fail("acted on an instance in an unknown state")
    monkeypatch.setattr(Adapter, "get_instance", weird)
    monkeypatch.setattr(Adapter, "stop", never)
    deployment_action(deployment=running, action="stop", user=team["developer"])

    assert reconcile_deployment(running.pk) == "unknown"
    running.refresh_from_db()
    assert running.status == Status.UNKNOWN and running.raw_status == "HIBERNATING"
    assert running.desired_state == DesiredState.STOPPED


def test_an_outage_while_observing_never_reads_as_down(running, monkeypatch):
    _fail_first(monkeypatch, "get_instance", 5, ProviderUnavailable)
    assert reconcile_deployment(running.pk) == "retry"
    running.refresh_from_db()
    assert running.status == Status.RUNNING and running.attempts == 1 and running.last_error


def test_a_refused_key_is_explained(running, monkeypatch):
    _fail_first(monkeypatch, "get_instance", 5, AuthError)
    assert reconcile_deployment(running.pk) == "auth"
    running.refresh_from_db()
    assert "the provider refused the key" in running.last_error and running.status == Status.RUNNING
    assert running.events.filter(kind=EventKind.ERROR, message__contains="refused the key").exists()


def test_no_capacity_fails_the_launch_with_the_reason(job, sandbox):
    sandbox.clouds[KIND].faults.capacity_error = True
    assert reconcile_deployment(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.last_error and job.instance_id == ""
    assert job.events.filter(kind=EventKind.STATUS, data__to=Status.FAILED).exists()


def test_two_reconcilers_never_act_at_once(job, monkeypatch):
    assert lease.claim(job.pk, "other-worker")
    monkeypatch.setattr(Adapter, "create_instance", lambda *a: pytest.fail("acted while leased"))
    assert reconcile_deployment(job.pk) == "busy"
    assert not lease.claim(job.pk, "third-worker")
    monkeypatch.undo()
    Deployment.objects.filter(pk=job.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # it died
    assert reconcile_deployment(job.pk) == "created"
    job.refresh_from_db()
    assert job.lease_owner == "" and job.lease_until is None


def _rogue_instance(credential, deployment_id):
    offer_id = credential.offers.filter(spot=False).order_by("price_per_hour").first().offer_id
    spec = InstanceSpec(deployment_id=deployment_id, name="rogue", offer_id=offer_id, image="python:3.12-slim")
    return provider_call(credential, "create_instance", spec)


def test_orphans_are_reported_and_terminated(connected, running, caplog):  # noqa: F811
    credential = ProviderCredential.objects.get(workspace=connected, provider=KIND)
    stranger = _rogue_instance(credential, uuid.uuid4())
    Deployment.objects.filter(pk=running.pk).update(status=Status.TERMINATED)  # its row says gone, instance lives

    assert reconcile_orphans(force=True) == 2
    remaining = {i.instance_id for i in provider_call(credential, "list_instances") if i.status != "terminated"}
    assert stranger.instance_id not in remaining and running.instance_id not in remaining
    assert running.events.filter(kind=EventKind.ORPHAN).exists()
    assert any("orphaned instance" in r.getMessage() and stranger.instance_id in r.getMessage() for r in caplog.records)
    assert reconcile_orphans() == 0  # scanned at most every 5 minutes per credential


def test_a_live_deployments_instance_is_not_an_orphan(connected, running):  # noqa: F811
    assert reconcile_orphans(force=True) == 0
    assert [i.instance_id for i in live_tagged(running)] == [running.instance_id]
