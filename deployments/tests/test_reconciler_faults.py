"""More faults against the RunPod sandbox: a create the provider refused but made anyway is found
(adopted within the lookup window, an orphan after it); an unconfirmed terminate is escalated
once after 15 minutes and retried every 30 s; provider messages never carry secret env values;
the secrets go once the instance is confirmed gone; observing a running deployment bills it."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.models import Deployment, DeploymentEvent, DesiredState, EventKind, Status
from deployments.reconciler import escalate, reconcile_deployment, reconcile_orphans, schedule, sweep
from deployments.services import deployment_action
from deployments.tests.test_chaos import Adapter, _fail_first, job, running  # noqa: F401
from deployments.tests.test_lifecycle_sandbox import connected, drive, launch, live_tagged, status_is  # noqa: F401
from providers.adapters import ProviderError, ProviderUnavailable

KIND = "runpod"
SECRET = "hf_secret"  # launch()'s secret_env {"HF_TOKEN": "hf_secret"}


def _made_then_refused(monkeypatch):
    _fail_first(monkeypatch, "create_instance", 1, lambda: ProviderError("500 internal error"), after_original=True)


def test_a_refused_create_that_made_the_instance_is_found_and_adopted(job, monkeypatch):
    _made_then_refused(monkeypatch)
    assert reconcile_deployment(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.instance_id == "" and len(live_tagged(job)) == 1

    Deployment.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert sweep() == {"adopted": 1}  # still looked at, at a slow cadence
    job.refresh_from_db()
    assert [i.instance_id for i in live_tagged(job)] == [job.instance_id]
    assert job.events.filter(message__startswith="Adopted the existing tagged instance").exists()


def test_after_the_lookup_window_it_is_an_orphan(job, monkeypatch):
    _made_then_refused(monkeypatch)
    assert reconcile_deployment(job.pk) == "failed"
    long_ago = timezone.now() - timedelta(hours=2)  # past the one-hour lookup window
    Deployment.objects.filter(pk=job.pk).update(status_changed_at=long_ago, next_attempt_at=None)
    assert not schedule.due().filter(pk=job.pk).exists()

    assert reconcile_orphans(force=True) == 1
    assert live_tagged(job) == [] and job.events.filter(kind=EventKind.ORPHAN).exists()


def test_an_unconfirmed_terminate_is_escalated_once_and_retried(running, team, monkeypatch):
    toasts = []
    monkeypatch.setattr(escalate, "publish_workspace_toast", lambda **kwargs: toasts.append(kwargs))
    _fail_first(monkeypatch, "terminate", 100, ProviderUnavailable)
    deployment_action(deployment=running, action="delete", user=team["developer"])
    assert reconcile_deployment(running.pk) == "retry" and toasts == []

    DeploymentEvent.objects.filter(deployment=running, data__action="delete").update(
        created_at=timezone.now() - timedelta(minutes=16))
    Deployment.objects.filter(pk=running.pk).update(attempts=20)
    for _ in range(2):
        assert reconcile_deployment(running.pk) == "retry"
    running.refresh_from_db()
    urgent = running.events.filter(data__escalation=escalate.ESCALATION)
    assert urgent.count() == 1 and urgent.get().kind == EventKind.ERROR
    assert len(toasts) == 1 and toasts[0]["level"] == "error"
    assert toasts[0]["message"].startswith(f"{running.name}: the provider has not confirmed termination")
    assert running.next_attempt_at <= timezone.now() + timedelta(seconds=30)  # never gives up
    assert running.desired_state == DesiredState.DELETED and running.status != Status.TERMINATED


@pytest.mark.parametrize("action, call", [("stop", "stop"), ("delete", "terminate")])
def test_a_stop_or_delete_the_provider_keeps_failing_is_retried_every_10_s_however_long_it_failed(
        running, team, monkeypatch, action, call):
    _fail_first(monkeypatch, call, 100, ProviderUnavailable)
    deployment_action(deployment=running, action=action, user=team["developer"])
    Deployment.objects.filter(pk=running.pk).update(attempts=12)  # long past the 300 s backoff cap
    assert reconcile_deployment(running.pk) == "retry"
    running.refresh_from_db()
    assert running.next_attempt_at <= timezone.now() + timedelta(seconds=schedule.BILLING_RETRY_S)


def test_a_stop_is_asked_for_even_when_the_look_before_it_fails(running, team, monkeypatch):
    looks = _fail_first(monkeypatch, "get_instance", 1, ProviderUnavailable)
    deployment_action(deployment=running, action="stop", user=team["developer"])
    assert reconcile_deployment(running.pk) == "stopped" and len(looks) == 1
    assert Deployment.objects.get(pk=running.pk).status == Status.STOPPING  # billing ends with the call


def _echoing(error_class):
    async def echo(self, spec):
        raise error_class(f"400 bad request body {json.dumps({'env': spec.env})}")
    return echo


@pytest.mark.parametrize(("error_class", "outcome"), [(ProviderError, "failed"), (ProviderUnavailable, "retry")])
def test_a_provider_error_echoing_the_env_shows_no_secret(job, monkeypatch, error_class, outcome):
    monkeypatch.setattr(Adapter, "create_instance", _echoing(error_class))
    assert reconcile_deployment(job.pk) == outcome
    job.refresh_from_db()
    assert "HF_TOKEN" in job.last_error and SECRET not in job.last_error
    shown = [event.message + json.dumps(event.data) for event in job.events.all()]
    assert any("HF_TOKEN" in text for text in shown) and not any(SECRET in text for text in shown)


def test_the_secrets_are_dropped_once_the_instance_is_confirmed_gone(running, team):
    assert running.secret_env
    deployment_action(deployment=running, action="delete", user=team["developer"])
    drive(running, status_is(Status.TERMINATED))
    assert running.secret_env == ""


def test_observing_a_running_deployment_runs_the_meter(running):
    running.refresh_from_db()
    assert running.spend_accrued_at is not None
