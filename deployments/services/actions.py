"""Start, stop, restart and delete: each only changes what the person wants (desired state, or a
restart request) and wakes the reconciler, which does the provider call. Writes are UPDATEs of
those columns only, so they never overwrite a status the reconciler wrote meanwhile, and only if
the request read for the check is still the row's (a start racing a delete must not undo it)."""

from django.db import transaction
from django.utils import timezone

from computehub.errors import ApplicationError
from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.selectors import ACTIONS, deployment_actions, deployment_intent_q
from deployments.services.events import event_record

VERBS = {"start": "Start", "stop": "Stop", "restart": "Restart", "delete": "Delete"}
CHANGED = "This deployment changed meanwhile; look at it again and retry."
_TRIES = 2  # one re-read settles an ordinary race; a row changing again and again is reported


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


def _apply_if_unchanged(deployment: Deployment, action: str) -> bool:
    """UPDATE only while the row's request is the one checked (and it has not ended meanwhile)."""
    changes = _changes(action) | {"attempts": 0, "next_attempt_at": None, "last_error": ""}
    rows = Deployment.objects.filter(deployment_intent_q(deployment))
    if action != "delete":
        rows = rows.exclude(status=Status.TERMINATED)
    return rows.update(**changes) == 1


def _check(deployment: Deployment, action: str, user) -> None:
    reason = deployment_actions(deployment)[action]
    if reason is not None:
        _refuse(deployment, action, reason, user)


def deployment_action(*, deployment: Deployment, action: str, user) -> Deployment:
    """Ask for `action` (start | stop | restart | delete). A provider that cannot do it, or a
    state that does not allow it, is refused with the reason the UI shows; the check is redone on
    a fresh read when the row changed between the check and the write."""
    if action not in ACTIONS:
        raise ApplicationError(f"Unknown action {action!r}.", fields={"action": [f"One of {', '.join(ACTIONS)}."]})
    from deployments.tasks import reconcile_soon  # tasks import services; late to avoid a cycle

    for _ in range(_TRIES):
        _check(deployment, action, user)
        with transaction.atomic():
            if _apply_if_unchanged(deployment, action):
                event_record(deployment=deployment, kind=EventKind.ACTION, actor=user,
                             message=f"{VERBS[action]} requested", data={"action": action})
                reconcile_soon(deployment.pk)
                deployment.refresh_from_db()
                return deployment
        deployment.refresh_from_db()
    raise ApplicationError(CHANGED, code="conflict", status=409)
