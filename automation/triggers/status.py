"""Status changes the rules engine reacts to, called by the reconciler right after it recorded a
change: a spot instance taken away (`preempted`), a deployment that died after running
(`failed`), and one that never got to run (`failed_to_start`). One event per change: the key
names the deployment, the new status and the moment it changed."""

import logging

from django.db import transaction

from automation.models import EventType
from automation.selectors.jobs import is_job_deployment
from automation.triggers.common import emit_once
from deployments.models import DeploymentEvent, DesiredState, EventKind, Status

logger = logging.getLogger(__name__)


def on_status_change(deployment, previous: str, status: str) -> bool:
    """Emit the event this change means, if any; True when one was written. Never raises: the
    reconciler's own write must not fail because automation could not record its event."""
    if status == previous:
        return False
    try:
        if is_job_deployment(deployment.pk):
            return False  # the job queue judges its own attempts and tells people itself
        event_type = _event_type(deployment, previous, status)
        if event_type is None:
            return False
        with transaction.atomic():  # a failed insert must not poison the reconciler's transaction
            return _emit(deployment, previous, status, event_type)
    except Exception:
        logger.exception("could not record the automation event of deployment %s (%s → %s)",
                         deployment.pk, previous, status)
        return False


def _event_type(deployment, previous: str, status: str) -> str | None:
    if status == Status.PREEMPTED:
        return EventType.PREEMPTED
    if status == Status.FAILED:
        return EventType.FAILED if _has_run(deployment, previous) else EventType.FAILED_TO_START
    if status == Status.TERMINATED and deployment.desired_state == DesiredState.RUNNING:
        # Nobody asked for it to go: the provider removed it.
        return EventType.FAILED if _has_run(deployment, previous) else EventType.FAILED_TO_START
    return None


def _has_run(deployment, previous: str) -> bool:
    if previous == Status.RUNNING:
        return True
    return DeploymentEvent.objects.filter(deployment_id=deployment.pk, kind=EventKind.STATUS,
                                          data__to=Status.RUNNING).exists()


_SUMMARIES = {
    EventType.PREEMPTED: "{name}: the spot instance on {provider} was preempted",
    EventType.FAILED: "{name} failed on {provider} after running",
    EventType.FAILED_TO_START: "{name} failed to start on {provider}",
}


def _emit(deployment, previous: str, status: str, event_type: str) -> bool:
    changed_at = deployment.status_changed_at
    stamp = changed_at.isoformat() if changed_at else "unknown"
    summary = _SUMMARIES[event_type].format(name=deployment.name, provider=deployment.provider)
    if deployment.last_error and event_type != EventType.PREEMPTED:
        summary = f"{summary}: {deployment.last_error}"
    return emit_once(
        workspace=deployment.workspace, deployment=deployment, type=event_type,
        dedup_key=f"status:{deployment.pk}:{status}:{stamp}", summary=summary,
        data={"previous": str(previous), "status": str(status), "raw_status": deployment.raw_status,
              "last_error": deployment.last_error, "spot": deployment.spot})
