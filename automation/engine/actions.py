"""One small function per action type. Each takes an ActionContext and returns what happened as a
JSON-able dict: {"type", "status": done | pending | failed | skipped, "detail", "deployment"}.

Modules of other areas (orchestration, notifications) are imported when the action runs, so a
missing one makes that action fail with "not available yet" instead of breaking the engine."""

import logging
from dataclasses import dataclass, field

from automation.engine.params import ACTION_PARAMS
from automation.models import AutomationEvent, Rule, RuleRun, Trigger
from computehub.errors import ApplicationError

logger = logging.getLogger(__name__)
NOT_AVAILABLE = "not available yet"
CAP_TRIGGERS = (Trigger.BUDGET_REACHED, Trigger.COST_THRESHOLD)
PEOPLE_ACTIONS = ("notify", "webhook")
DONE_WORDS = {"restart": "restart requested", "stop": "stop requested", "delete": "delete requested",
              "migrate": "migration started", "failover": "failover started", "rebid": "re-bid started",
              "notify": "people notified", "webhook": "webhook called"}


@dataclass
class ActionContext:
    rule: Rule
    run: RuleRun
    event: AutomationEvent
    deployment: object | None
    action: dict
    message_key: str
    summary: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return f"{self.rule.name}: {self.event.summary}"[:300]


def run_action(ctx: ActionContext) -> dict:
    kind = ctx.action["type"]
    if kind not in PEOPLE_ACTIONS and ctx.deployment is None:
        return _result(ctx, "skipped", "No deployment to act on.")
    try:
        return ACTIONS[kind](ctx)
    except ImportError:
        return _result(ctx, "failed", NOT_AVAILABLE)
    except ApplicationError as error:
        return _result(ctx, "failed", error.message)
    except Exception:  # one broken action must not stop the others or the engine
        logger.exception("automation action %s of rule %s failed", kind, ctx.rule.pk)
        return _result(ctx, "failed", "Unexpected error; see the server log.")


def _result(ctx: ActionContext, status: str, detail: str = "", **extra) -> dict:
    deployment = ctx.deployment
    return {"type": ctx.action["type"], "status": status, "detail": detail[:300],
            "deployment": str(deployment.pk) if deployment is not None else None, **extra}


def _deployment_action(ctx: ActionContext, action: str) -> dict:
    from deployments.services import deployment_action

    deployment_action(deployment=ctx.deployment, action=action, user=None)
    return _result(ctx, "done", DONE_WORDS[action])


def _operation(ctx: ActionContext, kind: str, params: dict) -> dict:
    from automation.orchestration import start_operation

    op = start_operation(kind=kind, source=ctx.deployment, reason=ctx.reason, rule_run=ctx.run, params=params)
    if op is None:
        return _result(ctx, "skipped", "Another automation operation is already in progress on this deployment.")
    return _result(ctx, "pending", DONE_WORDS.get(ctx.action["type"], kind), operation=op.pk)


def restart(ctx: ActionContext) -> dict:
    return _deployment_action(ctx, "restart")


def _stop_or_delete(ctx: ActionContext, action: str) -> dict:
    if ctx.rule.trigger in CAP_TRIGGERS:  # a cap's stop is confirmed with the provider and retried
        return _operation(ctx, "cap_stop", {"action": action, **_cap_figures(ctx.event)})
    return _deployment_action(ctx, action)


def _cap_figures(event: AutomationEvent) -> dict:
    data = event.data or {}
    return {name: data[name] for name in ("budget_id", "spent_usd", "limit_usd") if name in data}


def stop(ctx: ActionContext) -> dict:
    return _stop_or_delete(ctx, "stop")


def delete(ctx: ActionContext) -> dict:
    return _stop_or_delete(ctx, "delete")


def _param(ctx: ActionContext, name: str):
    """The action's value, else the default its validation declares (one place for defaults)."""
    return ctx.action.get(name, ACTION_PARAMS[ctx.action["type"]][name].default)


def migrate(ctx: ActionContext) -> dict:
    data = ctx.event.data or {}
    return _operation(ctx, "migrate", {"min_saving_percent": _param(ctx, "min_saving_percent"),
                                       "offer_id": data.get("offer_id")})


def failover(ctx: ActionContext) -> dict:
    return _operation(ctx, "failover", {"max_attempts": _param(ctx, "max_attempts"),
                                        "allow_spot": bool(_param(ctx, "allow_spot"))})


def rebid(ctx: ActionContext) -> dict:
    max_bid = ctx.action.get("max_bid")
    if max_bid is None:  # default ceiling: twice what it paid
        current = ctx.deployment.bid_per_hour or ctx.deployment.price_per_hour
        max_bid = round(2 * current, 4) if current else None
    return _operation(ctx, "refill", {"max_bid": max_bid, "max_failures": _param(ctx, "max_failures"),
                                      "fallback_on_demand": _param(ctx, "fallback_on_demand")})


def _subject(ctx: ActionContext) -> str:
    return f"{ctx.rule.name}: {ctx.event.summary}"[:200]


def _body(ctx: ActionContext) -> str:
    done = "; ".join(ctx.summary) or "no action on deployments"
    return f"{ctx.event.summary}\nRule “{ctx.rule.name}”: {done}." + (
        f"\n{ctx.action['message']}" if ctx.action.get("message") else "")


def notify(ctx: ActionContext) -> dict:
    from automation.services.notify import notify_channels

    queued = notify_channels(workspace=ctx.rule.workspace, channel_ids=ctx.action.get("channels") or None,
                             message_key=ctx.message_key, subject=_subject(ctx), body=_body(ctx), event=ctx.event)
    return _result(ctx, "done" if queued else "skipped", f"{queued} message(s) queued", queued=queued)


def webhook(ctx: ActionContext) -> dict:
    from automation.services.notify import notify_channels

    queued = notify_channels(workspace=ctx.rule.workspace, channel_ids=[ctx.action["channel"]],
                             message_key=ctx.message_key, subject=_subject(ctx), body=_body(ctx), event=ctx.event,
                             payload=run_payload(ctx))
    return _result(ctx, "done" if queued else "skipped", f"{queued} message(s) queued", queued=queued)


def run_payload(ctx: ActionContext) -> dict:
    """The rule run as JSON for webhook receivers (ids and plain facts, never secrets)."""
    event, deployment = ctx.event, ctx.deployment
    return {"type": "rule_run", "rule": {"id": ctx.rule.pk, "name": ctx.rule.name, "trigger": ctx.rule.trigger},
            "rule_run": {"id": ctx.run.pk, "started_at": ctx.run.started_at.isoformat(), "dry_run": ctx.run.dry_run,
                         "actions": ctx.summary},
            "event": {"id": event.pk, "type": event.type, "summary": event.summary, "data": event.data},
            "deployment": {"id": str(deployment.pk), "name": deployment.name} if deployment is not None else None}


ACTIONS = {"restart": restart, "stop": stop, "delete": delete, "migrate": migrate, "failover": failover,
           "rebid": rebid, "notify": notify, "webhook": webhook}
