"""The termination guarantee's alarm (reliability.md §4.5): a delete the provider has not
confirmed after 15 minutes gets ONE urgent timeline event and a workspace toast, so a person
checks the provider console; the reconciler keeps retrying regardless (never gives up)."""

import logging
from datetime import timedelta

from django.utils import timezone

from computehub.realtime import publish_workspace_toast
from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.services import event_record

logger = logging.getLogger(__name__)

ESCALATE_AFTER_S = 15 * 60
ESCALATION = "terminate_unconfirmed"


def _delete_request(deployment: Deployment):
    """The latest accepted delete request (its event); None when it was made some other way."""
    return (deployment.events.filter(kind=EventKind.ACTION, data__action="delete")
            .exclude(data__has_key="refused").order_by("-id").first())


def _message(deployment: Deployment) -> str:
    return (f"{deployment.name}: the provider has not confirmed termination after 15 minutes; check the "
            "provider console — ComputeHub keeps retrying")


def escalate_unconfirmed_terminate(deployment: Deployment, now=None) -> bool:
    """Raise the alarm once per delete request; True when it was raised now."""
    if deployment.desired_state != DesiredState.DELETED or deployment.status == Status.TERMINATED:
        return False
    now = now or timezone.now()
    request = _delete_request(deployment)
    requested_at = request.created_at if request is not None else deployment.created_at
    if now - requested_at < timedelta(seconds=ESCALATE_AFTER_S):
        return False
    already = deployment.events.filter(kind=EventKind.ERROR, data__escalation=ESCALATION)
    if request is not None:
        already = already.filter(id__gt=request.id)
    if already.exists():
        return False
    message = _message(deployment)
    event_record(deployment=deployment, kind=EventKind.ERROR, message=message,
                 data={"escalation": ESCALATION, "urgent": True, "instance_id": deployment.instance_id})
    try:  # the event is the record; a channel layer that is down must not fail the reconcile
        publish_workspace_toast(workspace_id=deployment.workspace_id, message=message, level="error")
    except Exception:
        logger.exception("Could not send the termination alarm toast for deployment %s", deployment.pk)
    return True
