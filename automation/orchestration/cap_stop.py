"""The cost cap's stop (or delete), confirmed by the provider. `begin` asks for it the way a person
would (deployment_action: desired state, reconciler woken); `advance` (every 30 s) finishes once
the provider reports the instance stopped / terminated, and otherwise asks again, so a lost or
refused provider call never leaves a capped deployment running. Unconfirmed after 5 minutes: one
`urgent` event, and the retries go on. The dispatcher calls both under the operation's lease;
every write here is conditional on that lease and on the operation being unfinished."""

from datetime import datetime, timedelta

from django.utils import timezone

from automation.events import event_emit
from automation.models import Budget, EventType, Operation, OperationState, RuleRun, RunOutcome
from automation.orchestration.base import note
from automation.selectors.spend import progress_of, spend_totals
from computehub.errors import ApplicationError
from deployments.models import Deployment, DesiredState, Status
from deployments.selectors import deployment_intent_q
from deployments.services import deployment_action
from providers.models import provider_display_name

RETRY_S = 30
URGENT_AFTER_S = 300
CONFIRMED = {"stop": (Status.STOPPED, Status.TERMINATED), "delete": (Status.TERMINATED,)}
DESIRED = {"stop": DesiredState.STOPPED, "delete": DesiredState.DELETED}
PAST = {"stop": "stopped", "delete": "deleted"}


def clock() -> datetime:
    """The time, one place for tests to move it."""
    return timezone.now()


# --- writes to the operation (conditional: this lease, still unfinished) ------------------------


def _save(op: Operation, **fields) -> bool:
    rows = Operation.objects.filter(pk=op.pk, lease_owner=op.lease_owner, finished_at__isnull=True)
    if not rows.update(**fields):
        return False
    for name, value in fields.items():
        setattr(op, name, value)
    return True


def _action(op: Operation) -> str:
    action = (op.data.get("params") or {}).get("action") or op.data.get("action") or "stop"
    return action if action in CONFIRMED else "stop"


# --- the figures named in the notes -------------------------------------------------------------


def _cap(op: Operation) -> dict:
    """budget_id / spent_usd / limit_usd from the params, else from the event that started it."""
    run = RuleRun.objects.filter(pk=op.rule_run_id).select_related("event").first() if op.rule_run_id else None
    found = {**(run.event.data if run and run.event else {}), **(op.data.get("params") or {})}
    return {name: found.get(name) for name in ("budget_id", "spent_usd", "limit_usd")}


def _spent_now(op: Operation, cap: dict) -> float | None:
    """The budget's figure now (a stopped meter is frozen at the stop), else the one at crossing."""
    budget = Budget.objects.filter(pk=cap.get("budget_id"), workspace_id=op.workspace_id).first()
    if budget is None:
        return cap.get("spent_usd")
    figures = spend_totals(workspace=op.source.workspace, deployment=budget.deployment)
    return progress_of(budget, figures, clock()).spent


def _at_budget(spent, limit) -> str:
    if spent is None or limit is None:
        return ""
    return f" at ${float(spent):,.2f} of ${float(limit):,.2f} budget"


# --- asking the provider ------------------------------------------------------------------------


def _request(deployment: Deployment, action: str, now) -> str | None:
    """Ask for `action` (again). Returns the refusal reason, if the service refused."""
    if deployment.desired_state in (DESIRED[action], DesiredState.DELETED):
        # Already asked (or deleted, which also stops the bill): wake the reconciler rather than
        # letting a backoff make the next provider call wait longer than the 30 s retry.
        Deployment.objects.filter(deployment_intent_q(deployment)).update(next_attempt_at=now)
        from deployments.tasks import reconcile_soon  # tasks import services; late, as the services do

        reconcile_soon(deployment.pk)
        return None
    try:
        deployment_action(deployment=deployment, action=action, user=None)
    except ApplicationError as refused:  # already stopping / ended meanwhile, or the provider cannot
        return refused.message
    return None


def begin(op: Operation) -> None:
    now, action, deployment = clock(), _action(op), Deployment.objects.get(pk=op.source_id)
    cap = _cap(op)
    refused = _request(deployment, action, now)
    message = f"Cost cap: {action} requested{_at_budget(cap['spent_usd'], cap['limit_usd'])}"
    note(deployment, op, message + (f" (the request was refused: {refused})" if refused else ""), action=action)
    _save(op, state=OperationState.CONFIRMING, next_step_at=now + timedelta(seconds=RETRY_S),
          attempts=op.attempts + 1,
          data={**op.data, "action": action, "cap": cap, "begun_at": now.isoformat(),
                "requested_at": now.isoformat()})


def advance(op: Operation) -> None:
    now, action, deployment = clock(), _action(op), Deployment.objects.get(pk=op.source_id)
    if deployment.status in CONFIRMED[action]:
        _finish(op, deployment, action, now)
        return
    if now - datetime.fromisoformat(op.data["begun_at"]) >= timedelta(seconds=URGENT_AFTER_S):
        _alert_unconfirmed(op, deployment, action, now)
    fields = {"next_step_at": now + timedelta(seconds=RETRY_S)}
    # Called early (a poll, another worker), it only looks: the request is repeated every 30 s.
    if now - datetime.fromisoformat(op.data["requested_at"]) >= timedelta(seconds=RETRY_S - 1):
        _request(deployment, action, now)
        fields |= {"attempts": op.attempts + 1, "data": {**op.data, "requested_at": now.isoformat()}}
    _save(op, **fields)


def _alert_unconfirmed(op: Operation, deployment: Deployment, action: str, now) -> None:
    """Once per operation (the key names it), however many workers and retries."""
    summary = f"Cost cap: {action} of {deployment.name} not confirmed by the provider after 5 minutes"
    event = event_emit(workspace=deployment.workspace, type=EventType.URGENT, deployment=deployment,
                       dedup_key=f"operation:{op.pk}:unconfirmed", summary=summary,
                       data={"operation_id": op.pk, "kind": op.kind, "action": action,
                             "status": deployment.status, "attempts": op.attempts})
    if event is not None:
        note(deployment, op, summary + "; still retrying every 30 s", action=action)
        _save(op, data={**op.data, "urgent_at": now.isoformat()})


def _finish(op: Operation, deployment: Deployment, action: str, now) -> None:
    cap = op.data.get("cap") or {}
    message = (f"Cost cap: {PAST[action]}{_at_budget(_spent_now(op, cap), cap.get('limit_usd'))}, "
               f"confirmed by {provider_display_name(deployment.provider)}")
    if not _save(op, state=OperationState.DONE, finished_at=now, next_step_at=None,
                 data={**op.data, "outcome": message, "confirmed_at": now.isoformat()}):
        return  # another worker finished it (or took the lease): it tells people, not this one
    note(deployment, op, message, action=action, state=OperationState.DONE)
    event_emit(workspace=deployment.workspace, type=EventType.ACTION, dedup_key=f"operation:{op.pk}:done",
               summary=message, deployment=deployment,
               data={"operation_id": op.pk, "kind": op.kind, "state": OperationState.DONE, "action": action})
    if op.rule_run_id:
        RuleRun.objects.filter(pk=op.rule_run_id, outcome=RunOutcome.PENDING).update(
            outcome=RunOutcome.DONE, detail=message[:500])
