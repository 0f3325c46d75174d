"""A reconciler worker that dies right after a cost cap's stop call (the provider stopped the
instance, the answer was lost) holds the deployment only for the bound of that call plus a short
margin, so the stop is confirmed and the meter frozen soon after, not 90 s later."""

from datetime import timedelta

from django.utils import timezone

from automation.tests.test_cap_stop_sandbox import _drive, _launch, runpod  # noqa: F401
from deployments.models import Status
from deployments.reconciler import lease, reconcile_deployment
from deployments.reconciler.calls import call_timeout, provider_call
from deployments.reconciler.run import SWEEP_CALL_TIMEOUT_S


def _dies_after_the_stop_call(deployment) -> None:
    owner = lease.new_owner()
    assert lease.claim(deployment.pk, owner)
    with call_timeout(SWEEP_CALL_TIMEOUT_S), lease.holding(deployment.pk, owner):
        provider_call(deployment.credential, "stop", deployment.instance_id)
    # ...and the process is gone: nothing releases the lease.


def test_a_dead_sweep_worker_holds_the_capped_deployment_for_its_call_bound_only(team, runpod):  # noqa: F811
    deployment = _launch(team["workspace"], team["developer"])
    _drive(deployment, Status.RUNNING)
    _dies_after_the_stop_call(deployment)

    deployment.refresh_from_db()
    held_for = (deployment.lease_until - timezone.now()).total_seconds()
    assert deployment.lease_owner and held_for <= SWEEP_CALL_TIMEOUT_S + lease.AFTER_CALL_S
    assert reconcile_deployment(deployment.pk, force=False) == "busy"  # a live lease is respected

    type(deployment).objects.filter(pk=deployment.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert reconcile_deployment(deployment.pk, force=False) != "busy"  # once it runs out, another worker steps in
