"""Every write the reconciler makes to a deployment: conditional UPDATEs on the status it read
(so two writers never double-flip), an event per transition, and the live status published once
the write is committed."""

import logging

from django.db import transaction
from django.utils import timezone

from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.realtime import publish_status
from deployments.services import event_record, scrub_secrets
from deployments.services.spend import deployment_accrue_spend
from providers.adapters import Instance

logger = logging.getLogger(__name__)

RUNNING_STATES = {Status.RUNNING}


def _publish_after_commit(deployment_id) -> None:
    def send():
        fresh = Deployment.objects.filter(pk=deployment_id).first()
        if fresh is not None:
            publish_status(fresh)
    transaction.on_commit(send)


def connection_fields(instance: Instance) -> dict:
    """What the provider tells about reaching the instance, in the row's columns."""
    return {"raw_status": (instance.raw_status or "")[:100], "public_ip": (instance.public_ip or "")[:64],
            "ssh_host": (instance.ssh_host or "")[:255], "ssh_port": instance.ssh_port,
            "ssh_user": (instance.ssh_user or "")[:64],
            "port_map": {str(k): v for k, v in (instance.ports or {}).items()}}


def _running_since(deployment: Deployment, status: str, now):
    if status == Status.RUNNING:
        return deployment.running_since if deployment.status == Status.RUNNING and deployment.running_since else now
    return None


def set_status(deployment: Deployment, status: str, *, message: str | None = None, **fields) -> bool:
    """Move to `status` only if the row still has the status we read; False when someone else
    moved it first. Updates `deployment` in place on success."""
    now, previous = timezone.now(), deployment.status
    if previous == Status.RUNNING and status != Status.RUNNING:
        deployment_accrue_spend(deployment=deployment, now=now)  # bill up to the moment it stopped running
    changes = {"status": status, "running_since": _running_since(deployment, status, now), **fields}
    if status != previous:
        changes["status_changed_at"] = now
    if not Deployment.objects.filter(pk=deployment.pk, status=previous).update(**changes):
        return False
    for name, value in changes.items():
        setattr(deployment, name, value)
    if status != previous:
        event_record(deployment=deployment, kind=EventKind.STATUS,
                     message=message or f"{Status(previous).label} → {Status(status).label}",
                     data={"from": previous, "to": status, "raw_status": deployment.raw_status})
        _publish_after_commit(deployment.pk)
        _tell_automation(deployment, previous, status)
    return True


def _tell_automation(deployment: Deployment, previous: str, status: str) -> None:
    """Preemptions and failures become automation events; that must never fail the reconciler."""
    try:
        from automation.triggers.status import on_status_change  # late: automation imports deployments

        on_status_change(deployment, previous, status)
    except Exception:
        logger.exception("automation could not be told that deployment %s went %s → %s",
                         deployment.pk, previous, status)


def observed(deployment: Deployment, instance: Instance) -> bool:
    """Record what the provider reports. An unknown status is kept raw and shown as unknown."""
    return set_status(deployment, _as_asked(deployment, Status(instance.status.value)), **connection_fields(instance))


def _as_asked(deployment: Deployment, status: Status) -> Status:
    """A provider that reports "stopped" and "its process ended" alike (RunPod's EXITED) may call
    the stop a person asked for a failure: while a stop is what we asked for, it is one."""
    asked_to_stop = deployment.desired_state == DesiredState.STOPPED
    if status == Status.FAILED and asked_to_stop and deployment.status in (Status.STOPPING, Status.STOPPED):
        return Status.STOPPED
    return status


def persist_instance(deployment: Deployment, instance: Instance, *, adopted: bool) -> bool:
    """Save the provider's id the moment we have it; only if no other worker saved one first."""
    saved = Deployment.objects.filter(pk=deployment.pk, instance_id="").update(instance_id=instance.instance_id[:200])
    if not saved:
        return False
    deployment.instance_id = instance.instance_id
    verb = "Adopted the existing tagged instance" if adopted else "Created instance"
    event_record(deployment=deployment, kind=EventKind.RECONCILE, message=f"{verb} {instance.instance_id}",
                 data={"instance_id": instance.instance_id, "adopted": adopted})
    observed(deployment, instance)
    return True


def mark_terminated(deployment: Deployment, why: str) -> bool:
    # The secret variables were only needed to launch; once the provider confirms the instance is
    # gone nothing will launch again, so they are not kept.
    return set_status(deployment, Status.TERMINATED, message=f"Terminated: {why}", terminated_at=timezone.now(),
                      last_error="", attempts=0, next_attempt_at=None, secret_env="")


def mark_failed(deployment: Deployment, reason: str) -> bool:
    """The reason is often the provider's own message, which Viewers read: secrets are cut out."""
    reason = scrub_secrets(deployment, reason)
    return set_status(deployment, Status.FAILED, message=f"Failed: {reason}", last_error=reason[:500])
