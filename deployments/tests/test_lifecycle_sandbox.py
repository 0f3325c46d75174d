"""The whole lifecycle against every sandbox cloud, through the real adapters over loopback HTTP:
create → running → stop → start → restart → delete, with the provider's own refusals (Lambda
cannot stop, Akash cannot restart) explained instead of attempted."""

import time

import pytest

from computehub.errors import ApplicationError
from deployments.models import DesiredState, EventKind, Status
from deployments.reconciler import reconcile_deployment
from deployments.reconciler.calls import provider_call
from deployments.selectors import deployment_actions
from deployments.services import deployment_action, deployment_create
from pricing.models import Offer
from pricing.services import refresh_offers
from providers.adapters import adapter_class, all_kinds
from providers.models import ProviderCredential
from providers.services import workspace_connect_defaults
from providers.tests.adapter_helpers import fast_limits

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ0ZXN0a2V5Zm9yY29tcHV0ZWh1YnRlc3RzMDE= test@computehub"
REMOTE = sorted(kind for kind in all_kinds() if kind != "local")


@pytest.fixture
def connected(team, sandbox, settings, monkeypatch):
    """The team's workspace with a Sandbox account per cloud, fast clouds and no client throttling,
    and offers refreshed so launches can check them."""
    settings.COMPUTEHUB_SANDBOX_URL = sandbox.root_url
    settings.COMPUTEHUB_LOCAL_PROVIDER = False
    settings.COMPUTEHUB_SSH_PUBLIC_KEY = SSH_KEY
    for kind in REMOTE:
        cls = adapter_class(kind)
        fast_limits(monkeypatch, cls, scopes=tuple(cls.scoped_rate_limits), base_delay=0.01, max_attempts=2)
    monkeypatch.setattr(adapter_class("akash"), "bid_poll_s", 0.05)
    for cloud in sandbox.clouds.values():
        monkeypatch.setattr(cloud, "boot_s", 0.2)
    workspace = team["workspace"]
    workspace_connect_defaults(workspace=workspace)
    report = refresh_offers(workspace=workspace)
    assert report.failed == [], report.summary()
    return workspace


def credential_for(workspace, kind) -> ProviderCredential:
    return ProviderCredential.objects.get(workspace=workspace, provider=kind)


def cheap_offer(workspace, kind) -> Offer:
    offers = Offer.objects.filter(workspace=workspace, provider=kind, spot=False).exclude(available=0)
    return offers.order_by("price_per_hour", "id").first()


def launch(workspace, user, kind, **overrides):
    offer = cheap_offer(workspace, kind)
    params = {"name": f"{kind}-job", "image": "python:3.12-slim", "command": ["python", "-m", "http.server", "8000"],
              "ports": [8000], "disk_gb": 20, "env": {"MODE": "test"}, "secret_env": {"HF_TOKEN": "hf_secret"}}
    return deployment_create(workspace=workspace, user=user, credential=offer.credential, offer_id=offer.offer_id,
                             **(params | overrides))


def drive(deployment, until, *, steps=60, pause=0.05):
    """Reconcile repeatedly until `until(deployment)` holds, as the sweep would."""
    for _ in range(steps):
        reconcile_deployment(deployment.pk)
        deployment.refresh_from_db()
        if until(deployment):
            return deployment
        time.sleep(pause)
    pytest.fail(f"{deployment.provider}: stuck at {deployment.status} ({deployment.raw_status}); "
                f"last error: {deployment.last_error!r}")


def status_is(status):
    return lambda d: d.status == status


def live_tagged(deployment):
    found = provider_call(deployment.credential, "list_instances", deployment.tag)
    return [i for i in found if i.status != "terminated"]


def _stop_and_start(deployment, user):
    deployment_action(deployment=deployment, action="stop", user=user)
    drive(deployment, status_is(Status.STOPPED))
    deployment_action(deployment=deployment, action="start", user=user)
    drive(deployment, status_is(Status.RUNNING))


def _refused(deployment, action, user):
    reason = adapter_class(deployment.provider).capabilities.reason(action)
    with pytest.raises(ApplicationError) as refused:
        deployment_action(deployment=deployment, action=action, user=user)
    assert refused.value.code == "not_supported" and refused.value.message == reason
    assert deployment.events.filter(kind=EventKind.ACTION, message__contains="refused").exists()
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.RUNNING


@pytest.mark.parametrize("kind", REMOTE)
def test_full_lifecycle_on_every_sandbox_cloud(connected, team, kind):
    user = team["developer"]
    deployment = launch(connected, user, kind)
    assert deployment.status == Status.PENDING and deployment.desired_state == DesiredState.RUNNING

    drive(deployment, status_is(Status.RUNNING))
    assert deployment.instance_id and deployment.running_since is not None
    assert [i.instance_id for i in live_tagged(deployment)] == [deployment.instance_id]

    capabilities = adapter_class(kind).capabilities
    if capabilities.supports("stop"):
        _stop_and_start(deployment, user)
    else:
        _refused(deployment, "stop", user)
    if capabilities.supports("restart"):
        deployment_action(deployment=deployment, action="restart", user=user)
        drive(deployment, lambda d: d.restart_requested_at is None and d.status == Status.RUNNING)
        assert deployment.events.filter(message="Restarted the instance").exists()
    else:
        _refused(deployment, "restart", user)

    deployment_action(deployment=deployment, action="delete", user=user)
    drive(deployment, status_is(Status.TERMINATED))
    assert deployment.terminated_at is not None and live_tagged(deployment) == []
    assert all(reason is not None for reason in deployment_actions(deployment).values())
    statuses = list(deployment.events.filter(kind=EventKind.STATUS).values_list("data__to", flat=True))
    assert statuses[0] != Status.PENDING and statuses[-1] == Status.TERMINATED
