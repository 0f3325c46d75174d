"""Helpers for the orchestration tests: launch a deployment on a chosen sandbox offer, drive the
operations lane and the reconciler together as the autopilot and the sweep would, and count
what is really running at the sandbox clouds."""

import time

import pytest

from automation.models import Operation
from automation.orchestration import advance_operations
from deployments.models import Deployment, DesiredState, Status
from deployments.reconciler import reconcile_deployment
from deployments.services import deployment_create
from pricing.models import Offer

PARAMS = {"image": "python:3.12-slim", "command": ["python", "-m", "http.server", "8000"], "ports": [8000],
          "disk_gb": 20, "env": {"MODE": "test"}, "secret_env": {"HF_TOKEN": "hf_secret"}}


def offer_on(workspace, provider: str, gpu_model: str, *, spot: bool = False) -> Offer:
    offers = Offer.objects.filter(workspace=workspace, provider=provider, gpu_model=gpu_model, gpu_count=1,
                                  spot=spot).exclude(available=0).select_related("credential")
    offer = offers.order_by("price_per_hour", "pk").first()
    assert offer is not None, f"no {gpu_model} offer on {provider} (spot={spot})"
    return offer


def launch_on(workspace, user, offer: Offer, name: str = "llm-server") -> Deployment:
    # A little over the listed minimum: the sandbox's market drifts between the listing and the launch.
    bid = round((offer.min_bid_per_hour or offer.price_per_hour) * 1.05, 4) if offer.spot else None
    return deployment_create(workspace=workspace, user=user, credential=offer.credential, offer_id=offer.offer_id,
                             name=name, spot=offer.spot, bid_per_hour=bid, **PARAMS)


def reconcile_all(workspace) -> None:
    """One reconciler step for every deployment not yet gone (what the sweep does)."""
    for deployment_id in Deployment.objects.filter(workspace=workspace).exclude(
            status=Status.TERMINATED).values_list("pk", flat=True):
        reconcile_deployment(deployment_id)


def pump(op: Operation, *, until, check=None, steps: int = 120, pause: float = 0.03) -> Operation:
    """Alternate the operations lane and the reconciler until `until(op)`; `check(op)` runs after
    every round (the invariants a test watches at every observed moment)."""
    for _ in range(steps):
        advance_operations()
        reconcile_all(op.workspace)
        op.refresh_from_db()
        if check is not None:
            check(op)
        if until(op):
            return op
        time.sleep(pause)
    pytest.fail(f"operation stuck in {op.state}: {op.data}")


def finished(op: Operation) -> bool:
    return op.finished_at is not None


def settle_deletes(workspace, *, steps: int = 60) -> None:
    """Drive every deleted deployment until the provider confirmed it gone."""
    for _ in range(steps):
        pending = Deployment.objects.filter(workspace=workspace, desired_state=DesiredState.DELETED).exclude(
            status=Status.TERMINATED)
        if not pending.exists():
            return
        reconcile_all(workspace)
        time.sleep(0.03)
    pytest.fail("deleted deployments never confirmed terminated")


def live_instances(sandbox) -> list[tuple[str, str]]:
    """(cloud, instance id) of every instance a sandbox cloud still has (anything not terminated)."""
    return sorted((name, instance.id) for name, cloud in sandbox.clouds.items()
                  for instance in cloud.instances.values() if instance.state != "terminated")


def assert_no_leaks(workspace, sandbox) -> None:
    """Every instance alive at a cloud belongs to a deployment that is wanted (not deleted), one each."""
    settle_deletes(workspace)
    wanted = Deployment.objects.filter(workspace=workspace).exclude(desired_state=DesiredState.DELETED)
    expected = sorted(d.instance_id for d in wanted if d.instance_id)
    assert sorted(instance for _, instance in live_instances(sandbox)) == expected
