"""The cost cap's stop end to end: a RunPod sandbox pod, the reconciler making the provider calls
and the operations dispatcher stepping the cap stop; a provider outage delays the confirmation,
never the retries, and the stop is confirmed by the provider once it answers again."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import AutomationEvent, EventType, Operation, OperationState
from automation.orchestration import advance_operations, cap_stop, start_operation
from automation.tests.factories_budgets import budget_for
from deployments.models import DesiredState, EventKind, Status
from deployments.reconciler import reconcile_deployment
from deployments.services import deployment_create
from pricing.models import Offer
from pricing.services import refresh_offers
from providers.adapters import adapter_class
from providers.services import workspace_connect_defaults
from providers.tests.adapter_helpers import fast_limits

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yY29tcHV0ZWh1YnRlc3RzMDE= test@computehub"


@pytest.fixture
def runpod(team, sandbox, settings, monkeypatch):
    settings.COMPUTEHUB_SANDBOX_URL = sandbox.root_url
    settings.COMPUTEHUB_LOCAL_PROVIDER = False
    settings.COMPUTEHUB_SSH_PUBLIC_KEY = SSH_KEY
    monkeypatch.setattr("deployments.tasks.async_task", lambda *args, **kwargs: None)
    cls = adapter_class("runpod")
    fast_limits(monkeypatch, cls, scopes=tuple(cls.scoped_rate_limits), base_delay=0.01, max_attempts=2)
    monkeypatch.setattr(sandbox.clouds["runpod"], "boot_s", 0.2)
    workspace_connect_defaults(workspace=team["workspace"])
    refresh_offers(workspace=team["workspace"])
    return sandbox.clouds["runpod"]


def _launch(workspace, user):
    offer = (Offer.objects.filter(workspace=workspace, provider="runpod", spot=False).exclude(available=0)
             .order_by("price_per_hour", "id").first())
    return deployment_create(workspace=workspace, user=user, credential=offer.credential, offer_id=offer.offer_id,
                             name="capped", image="python:3.12-slim", ports=[8000], disk_gb=20)


def _drive(deployment, status, steps=60):
    for _ in range(steps):
        reconcile_deployment(deployment.pk)
        deployment.refresh_from_db()
        if deployment.status == status:
            return
        time.sleep(0.05)
    pytest.fail(f"stuck at {deployment.status}: {deployment.last_error!r}")


def _thirty_seconds_later(op, monkeypatch):
    """The operation's next step is due, and the cap stop sees 30 s gone by."""
    Operation.objects.filter(pk=op.pk).update(next_step_at=timezone.now() - timedelta(seconds=1))
    later = timezone.now() + timedelta(seconds=31)
    monkeypatch.setattr(cap_stop, "clock", lambda: later)
    assert advance_operations() == 1
    return Operation.objects.get(pk=op.pk)


def test_the_cap_stop_is_retried_through_an_outage_and_confirmed_by_the_provider(team, runpod, monkeypatch):
    deployment = _launch(team["workspace"], team["developer"])
    _drive(deployment, Status.RUNNING)
    budget = budget_for(team["workspace"], deployment=deployment, limit_usd="50.00")
    runpod.faults.outage = True

    op = start_operation(kind="cap_stop", source=deployment, reason="Budget reached",
                         params={"action": "stop", "budget_id": budget.pk, "spent_usd": 50.0, "limit_usd": 50.0})
    assert op.state == OperationState.CONFIRMING
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.STOPPED
    reconcile_deployment(deployment.pk)  # the provider is down: the stop call fails
    op = _thirty_seconds_later(op, monkeypatch)
    deployment.refresh_from_db()
    assert op.state == OperationState.CONFIRMING and op.attempts == 2 and deployment.status == Status.RUNNING

    runpod.faults.outage = False
    _drive(deployment, Status.STOPPED)
    op = _thirty_seconds_later(op, monkeypatch)
    assert op.state == OperationState.DONE and op.finished_at is not None
    note = deployment.events.filter(kind=EventKind.AUTOMATION).last().message
    assert note.startswith("Cost cap: stopped at $") and note.endswith("of $50.00 budget, confirmed by RunPod")
    assert not AutomationEvent.objects.filter(type=EventType.URGENT).exists()
