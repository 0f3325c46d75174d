"""Start, stop, restart and delete: each only changes what the person wants (desired state, or a
restart request) and wakes the reconciler, which does the provider call. Writes are UPDATEs of
those columns only, so they never overwrite a status the reconciler wrote meanwhile."""

from django.db import transaction
from django.utils import timezone

from computehub.errors import ApplicationError
from deployments.models import Deployment, DesiredState, EventKind
from deployments.selectors import ACTIONS, deployment_actions
from deployments.services.events import event_record

VERBS = {"start": "Start", "stop": "Stop", "restart": "Restart", "delete": "Delete"}


def _changes(action: str) -> dict:
    if action == "restart":
        return {"restart_requested_at": timezone.now()}
    desired = {"start": DesiredState.RUNNING, "stop": DesiredState.STOPPED, "delete": DesiredState.DELETED}[action]
    return {"desired_state": desired}


def _refuse(deployment: Deployment, action: str, reason: str, user) -> None:
    # Recorded outside any transaction: the refusal belongs in the audit log too.
    event_record(deployment=deployment, kind=EventKind.ACTION, actor=user,
                 message=f"{VERBS[action]} refused: {reason}", data={"action": action, "refused": True})
    raise ApplicationError(reason, code="not_supported", status=409)


def deployment_action(*, deployment: Deployment, action: str, user) -> Deployment:
    """Ask for `action` (start | stop | restart | delete). A provider that cannot do it, or a
    state that does not allow it, is refused with the reason the UI shows."""
    if action not in ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", fields={"action": [f"One of {', '.join(ACTIONS)}."]})
    reason = deployment_actions(deployment)[action]
    if reason is not None:
        _refuse(deployment, action, reason, user)
    from deployments.tasks import reconcile_soon  # tasks import services; late to avoid a cycle

    changes = _changes(action) | {"attempts": 0, "next_attempt_at": None, "last_error": ""}
    with transaction.atomic():
        Deployment.objects.filter(pk=deployment.pk).update(**changes)
        event_record(deployment=deployment, kind=EventKind.ACTION, actor=user,
                     message=f"{VERBS[action]} requested", data={"action": action})
        reconcile_soon(deployment.pk)
    deployment.refresh_from_db()
    return deployment
