"""The idempotent steps that move a deployment's observed status toward its desired state.
Each function makes at most one changing provider call (plus reads) and records what it did."""

import logging

from accounts.ssh_keys_service import workspace_authorized_keys
from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.reconciler import state
from deployments.reconciler.calls import capabilities_of, provider_call
from deployments.selectors import restartable
from deployments.services import event_record, secret_env_of
from deployments.services.spend import deployment_accrue_spend
from deployments.standins import local_launch
from providers.adapters import (CapacityError, Instance, InstanceSpec, InstanceStatus, NotFound, ProviderError,
                                ProviderUnavailable)
from providers.models import ProviderKind

logger = logging.getLogger(__name__)


def build_spec(deployment: Deployment) -> InstanceSpec:
    env = dict(deployment.env) | secret_env_of(deployment)
    command = list(deployment.command)
    if deployment.provider == ProviderKind.LOCAL:
        # A bare machine may have no `python` on PATH; templates' stand-ins import from our source.
        command, extra_env = local_launch(command)
        env = extra_env | env
    return InstanceSpec(deployment_id=deployment.pk, name=deployment.name, offer_id=deployment.offer_id,
                        image=deployment.image, command=tuple(command), env=env,
                        ports=tuple(deployment.ports), disk_gb=deployment.disk_gb, spot=deployment.spot,
                        bid_per_hour=deployment.bid_per_hour if deployment.spot else None,
                        ssh_public_key="\n".join(workspace_authorized_keys(workspace=deployment.workspace)) or None)


def tagged_instances(deployment: Deployment) -> list[Instance]:
    """Live instances carrying the deployment's tag, oldest first: what a lost create left."""
    found = provider_call(deployment.credential, "list_instances", deployment.tag)
    live = [i for i in found if i.tag == deployment.tag and i.status != InstanceStatus.TERMINATED]
    return sorted(live, key=lambda i: (i.created_at is None, i.created_at or 0, i.instance_id))


def _terminate_duplicates(deployment: Deployment, extras: list[Instance]) -> None:
    for extra in extras:  # two creates got through somehow: keep one, never pay for two
        provider_call(deployment.credential, "terminate", extra.instance_id)
        event_record(deployment=deployment, kind=EventKind.ORPHAN,
                     message=f"Terminated duplicate instance {extra.instance_id}", data={"instance_id": extra.instance_id})


def create_or_adopt(deployment: Deployment) -> str:
    """Look for the tag first, so a create that timed out or whose worker died is adopted,
    never repeated; otherwise create, and save the id at once."""
    existing = tagged_instances(deployment)
    if existing:
        _terminate_duplicates(deployment, existing[1:])
        state.persist_instance(deployment, existing[0], adopted=True)
        return "adopted"
    try:
        instance = provider_call(deployment.credential, "create_instance", build_spec(deployment))
    except (CapacityError, ProviderError) as exc:  # a refusal of this spec: retrying cannot help
        state.mark_failed(deployment, str(exc))
        return "failed"
    save_created(deployment, instance)
    return "created"


def save_created(deployment: Deployment, instance: Instance) -> None:
    """Named so the chaos tests can stand in a worker dying between the call and this write."""
    state.persist_instance(deployment, instance, adopted=False)


def observe(deployment: Deployment) -> Instance | None:
    """The instance now, recorded; None (and a failed status) when the provider lost it."""
    try:
        instance = provider_call(deployment.credential, "get_instance", deployment.instance_id)
    except NotFound:
        state.mark_failed(deployment, "The provider no longer knows this instance (removed outside ComputeHub?)")
        return None
    state.observed(deployment, instance)
    if deployment.status == Status.RUNNING:
        deployment_accrue_spend(deployment=deployment)
    return instance


def _clear_restart(deployment: Deployment) -> None:
    """Clear only the request this step acted on: one made since (after a stop and start, say)
    carries another timestamp and must survive for the next step."""
    Deployment.objects.filter(pk=deployment.pk, restart_requested_at=deployment.restart_requested_at).update(
        restart_requested_at=None)
    deployment.restart_requested_at = None


def restart(deployment: Deployment) -> str:
    """The provider's restart, else stop then start; the request is cleared once done."""
    if capabilities_of(deployment).supports("restart"):
        provider_call(deployment.credential, "restart", deployment.instance_id)
    else:
        provider_call(deployment.credential, "stop", deployment.instance_id)
        provider_call(deployment.credential, "start", deployment.instance_id)
    _clear_restart(deployment)
    event_record(deployment=deployment, kind=EventKind.RECONCILE, message="Restarted the instance")
    if deployment.status == Status.FAILED:  # look again within seconds, not at the failed cadence
        state.set_status(deployment, Status.STARTING, message="Starting the failed instance again")
    return "restarted"


def start(deployment: Deployment) -> str:
    provider_call(deployment.credential, "start", deployment.instance_id)
    state.set_status(deployment, Status.STARTING, message="Starting the instance")
    return "started"


def stop(deployment: Deployment) -> str:
    provider_call(deployment.credential, "stop", deployment.instance_id)
    state.set_status(deployment, Status.STOPPING, message="Stopping the instance")
    return "stopped"


def act_on_running_instance(deployment: Deployment) -> str:
    """After observing: the one action that moves status toward what the person wants."""
    status, desired = deployment.status, deployment.desired_state
    if status == Status.UNKNOWN:
        return "unknown"  # we do not know what it is doing: never act destructively on that
    if deployment.restart_requested_at is not None:
        if restartable(deployment) and desired == DesiredState.RUNNING:
            return restart(deployment)
        _clear_restart(deployment)  # stopped or going away meanwhile: nothing to restart
    if desired == DesiredState.RUNNING and status == Status.STOPPED:
        return start(deployment)
    if desired == DesiredState.STOPPED and status == Status.RUNNING:
        return stop(deployment)
    return "observed"


def _confirmed_gone(deployment: Deployment) -> bool:
    try:
        instance = provider_call(deployment.credential, "get_instance", deployment.instance_id)
    except NotFound:
        return True
    return instance.status == InstanceStatus.TERMINATED


def _find_lost_instance(deployment: Deployment) -> bool:
    """Before calling a never-launched deployment terminated, make sure no create got through."""
    found = tagged_instances(deployment)
    if found:
        _terminate_duplicates(deployment, found[1:])
        state.persist_instance(deployment, found[0], adopted=True)
    return bool(found)


def delete(deployment: Deployment) -> str:
    """Terminate, and call it terminated only once the provider confirms (retried until then)."""
    if not deployment.instance_id and not _find_lost_instance(deployment):
        state.mark_terminated(deployment, "nothing was running at the provider")
        return "terminated"
    if _confirmed_gone(deployment):
        state.mark_terminated(deployment, "the provider confirmed the instance is gone")
        return "terminated"
    provider_call(deployment.credential, "terminate", deployment.instance_id)
    state.set_status(deployment, Status.TERMINATING, message="Terminating the instance")
    if _confirmed_gone(deployment):
        state.mark_terminated(deployment, "the provider confirmed the instance is gone")
        return "terminated"
    return "terminating"


def settle_without_instance(deployment: Deployment) -> str:
    """Nothing rented and nothing wanted running (stopped before launch, or a failed create).
    A create that timed out may still have made one: adopt it, so the next step stops it."""
    if _find_lost_instance(deployment):
        return "adopted"
    if deployment.desired_state == DesiredState.STOPPED and deployment.status == Status.PENDING:
        state.set_status(deployment, Status.STOPPED, message="Stopped before anything was launched")
    return "settled"


def step(deployment: Deployment) -> str:
    if deployment.desired_state == DesiredState.DELETED:
        return delete(deployment)
    if not deployment.instance_id:
        if deployment.desired_state == DesiredState.RUNNING and deployment.status != Status.FAILED:
            return create_or_adopt(deployment)
        return settle_without_instance(deployment)
    try:
        if observe(deployment) is None:
            return "lost"
    except (ProviderUnavailable, TimeoutError):
        if not _stop_billing_blind(deployment):
            raise
        return stop(deployment)
    return act_on_running_instance(deployment)


def _stop_billing_blind(deployment: Deployment) -> bool:
    """A running instance a stop was asked for is stopped even when the look before it failed: a
    provider failing most calls then needs one good answer, not two, while it keeps billing."""
    return deployment.desired_state == DesiredState.STOPPED and deployment.status == Status.RUNNING
