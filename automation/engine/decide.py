"""Which rules an event concerns, which deployments they act on, and what the engine decides for
each (act, dry run, cooldown, hourly cap, escalate, or hold back for safety). Reads only."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q

from automation import conditions
from automation.engine.facts import build_facts
from automation.engine.params import DEPLOYMENT_ACTIONS, DESTRUCTIVE
from automation.models import AutomationEvent, HealthCheck, HealthState, Rule, RuleRun, RunOutcome, Trigger
from automation.selectors.health import provider_unsure
from deployments.models import Deployment, Status

TRIGGER_OF = {
    "down": Trigger.DOWN, "still_down": Trigger.DOWN, "recovered": Trigger.RECOVERED,
    "preempted": Trigger.PREEMPTED, "failed_to_start": Trigger.FAILED_TO_START, "idle": Trigger.IDLE,
    "cost_threshold": Trigger.COST_THRESHOLD, "budget_reached": Trigger.BUDGET_REACHED,
    "price_change": Trigger.PRICE_CHANGE, "price_below": Trigger.PRICE_BELOW, "schedule": Trigger.SCHEDULE,
}
HEALTH_EVENTS = ("down", "still_down", "recovered")
ACTED = (RunOutcome.DONE, RunOutcome.PENDING, RunOutcome.FAILED)

ACT, ESCALATE = "act", "escalate"


@dataclass
class Decision:
    target: Deployment | None
    plan: str  # ACT | ESCALATE | a RunOutcome value (dry_run, cooldown, capped, skipped, not_matched)
    reason: str = ""
    facts: dict = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)  # what was done, in words (filled when acting)
    outcome: str = ""  # the final outcome for this target (filled after acting)

    def as_json(self) -> dict:
        return {"deployment": str(self.target.pk) if self.target is not None else None, "plan": self.plan,
                "reason": self.reason}


def rules_for_event(event: AutomationEvent) -> list[Rule]:
    trigger = TRIGGER_OF.get(event.type)
    if trigger is None:
        return []
    if "alert_id" in (event.data or {}):
        return []  # a price alert only tells people; the notify lane sends it
    rules = Rule.objects.filter(workspace_id=event.workspace_id, trigger=trigger, enabled=True)
    rule_id = (event.data or {}).get("rule_id")
    if rule_id is not None:
        rules = rules.filter(pk=rule_id)
    if event.deployment_id is not None:
        rules = rules.filter(Q(deployment__isnull=True) | Q(deployment_id=event.deployment_id))
    return [rule for rule in rules.select_related("workspace", "deployment") if _budget_fits(rule, event)]


def _budget_fits(rule: Rule, event: AutomationEvent) -> bool:
    wanted = (rule.trigger_params or {}).get("budget_id") if rule.trigger == Trigger.BUDGET_REACHED else None
    return wanted is None or wanted == (event.data or {}).get("budget_id")


def targets_for(rule: Rule, event: AutomationEvent) -> list[Deployment | None]:
    """The event's deployment; else the rule's; else, for a rule acting on deployments, every
    running deployment of the workspace (a workspace budget reached stops them all)."""
    if event.deployment is not None:
        return [event.deployment]
    if rule.deployment is not None:
        return [rule.deployment]
    if any(action.get("type") in DEPLOYMENT_ACTIONS for action in rule.actions):
        running = list(Deployment.objects.filter(workspace_id=rule.workspace_id, status=Status.RUNNING)
                       .select_related("workspace").order_by("created_at"))
        return running or [None]
    return [None]


def decide(rule: Rule, event: AutomationEvent, target, now) -> Decision:
    facts = build_facts(event=event, deployment=target, now=now)
    if not conditions.evaluate(rule.conditions or {}, facts):
        return Decision(target, RunOutcome.NOT_MATCHED, "Conditions not met.", facts)
    for check in (_unsafe, _cooling_down, _capped):
        decision = check(rule, event, target, now)
        if decision is not None:
            decision.facts = facts
            return decision
    if rule.dry_run:
        would = ", ".join(action["type"] for action in rule.actions)
        return Decision(target, RunOutcome.DRY_RUN, f"Would {would} ({event.summary}); nothing done.", facts)
    return Decision(target, ACT, event.summary, facts)


MONEY_EVENTS = ("budget_reached", "cost_threshold")  # a cap must stop it even while its provider struggles


def _unsafe(rule: Rule, event: AutomationEvent, target, now) -> Decision | None:
    """No destructive action while its health is unknown or its provider is failing to answer
    (acting could destroy a healthy machine, or start a move the provider cannot finish), nor on a
    health event after it already recovered. Spending limits are the exception."""
    destructive = any(a.get("type") in DESTRUCTIVE for a in [*rule.actions, *rule.escalation])
    if target is None or not destructive or event.type in MONEY_EVENTS:
        return None
    if provider_unsure(target):
        return Decision(target, RunOutcome.SKIPPED, "Health is unknown now (the provider is not answering); "
                                                    "automation never acts on unknown.")
    state = HealthCheck.objects.filter(deployment=target).values_list("state", flat=True).first()
    if event.type in HEALTH_EVENTS and event.type != "recovered" and state == HealthState.UP:
        return Decision(target, RunOutcome.SKIPPED, "It recovered before automation acted.")
    return None


def _runs(rule: Rule, target, since, outcomes) -> "RuleRun.objects":
    return RuleRun.objects.filter(rule=rule, deployment=target, started_at__gte=since, outcome__in=outcomes)


def _acted_outcomes(rule: Rule) -> tuple:
    # A dry-run rule counts its would-be actions, so its record shows what it really would do.
    return ACTED + ((RunOutcome.DRY_RUN,) if rule.dry_run else ())


def _cooling_down(rule: Rule, event, target, now) -> Decision | None:
    if not rule.cooldown_s:
        return None
    since = now - timedelta(seconds=rule.cooldown_s)
    last = _runs(rule, target, since, _acted_outcomes(rule) + (RunOutcome.ESCALATED,)).order_by("-started_at").first()
    if last is None:
        return None
    ago = int((now - last.started_at).total_seconds())
    return Decision(target, RunOutcome.COOLDOWN, f"In cooldown: it acted {ago} s ago (cooldown {rule.cooldown_s} s).")


def _capped(rule: Rule, event, target, now) -> Decision | None:
    hour_ago = now - timedelta(hours=1)
    if _runs(rule, target, hour_ago, _acted_outcomes(rule)).count() < rule.max_per_hour:
        return None
    reason = f"Hourly cap reached: {rule.max_per_hour} actions in the last hour."
    if rule.escalation and not _runs(rule, target, hour_ago, (RunOutcome.ESCALATED,)).exists():
        if rule.dry_run:
            return Decision(target, RunOutcome.DRY_RUN, f"{reason} Would escalate.")
        return Decision(target, ESCALATE, f"{reason} Escalating.")
    return Decision(target, RunOutcome.CAPPED, reason)
