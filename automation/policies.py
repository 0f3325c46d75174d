"""Built-in policies switched on in one click per deployment or per workspace. Each is ordinary
Rule rows with `policy=<slug>`, which people can inspect and edit like any rule.

How auto-restart and failover share a `down`: with auto-restart on, it alone answers down and
still_down events (restart, at most N per hour) and, once capped, escalates to failover when the
failover policy covers the deployment (else stop). The failover rule answers only still_down
events of deployments that auto-restart does not cover (condition
`automation.auto_restart_enabled is no`), so the two never act on the same event."""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from automation.engine import params as p
from automation.models import Budget, HealthCheck, Rule, Trigger
from automation.services.rules import rule_create, rule_update
from computehub.errors import ApplicationError


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    defaults: dict
    params: dict[str, p.Param] = field(default_factory=dict)


POLICIES: dict[str, Policy] = {
    "auto_restart": Policy(
        "Auto-restart", "Restart when down; at most 3 restarts an hour, then fail over (if on) or stop, and alert.",
        {"max_per_hour": 3, "cooldown_s": 60},
        {"max_per_hour": p.Param(p.number(1, 60, integer=True), 3),
         "cooldown_s": p.Param(p.number(0, 86400, integer=True), 60)}),
    "failover": Policy(
        "Cross-cloud failover", "When down and a restart did not help, launch on the next cheapest matching "
        "offer on another provider.", {}),
    "cost_cap": Policy(
        "Cost cap", "Stop (or delete) at the budget; the stop is confirmed with the provider.",
        {"limit_usd": None, "period": "total", "action": "stop"},
        {"limit_usd": p.Param(p.number(above=0)), "period": p.Param(p.choice("total", "day", "month"), None),
         "action": p.Param(p.choice("stop", "delete"), "stop")}),
    "price_migration": Policy(
        "Price-aware migration", "Move to the same GPU configuration elsewhere when it is at least X% cheaper "
        "for Y minutes (make before break).", {"min_saving_percent": 20, "minutes": 30},
        {"min_saving_percent": p.Param(p.number(1, 90), 20), "minutes": p.Param(p.number(0, 1440, integer=True), 30)}),
    "spot_refill": Policy(
        "Spot refill", "When a spot instance is preempted, re-bid (up to a ceiling), then fall back to on-demand.",
        {"max_bid": None, "fallback_on_demand": True, "max_failures": 3},
        p.ACTION_PARAMS["rebid"]),
    "idle_shutdown": Policy(
        "Idle shutdown", "Stop after Y minutes of GPU utilisation below X%.", {"threshold_percent": 5, "minutes": 30},
        p.TRIGGER_PARAMS[Trigger.IDLE]),
}


def policy_enable(*, workspace, user, slug: str, deployment=None, params: dict | None = None) -> list[Rule]:
    """Switch a policy on for the deployment (or the whole workspace). Enabling it again updates
    its parameters (and re-enables its rules) instead of adding rules."""
    policy = _policy(slug)
    values = _clean(policy, slug, deployment, params or {})
    with transaction.atomic():
        existing = list(_rules(workspace, slug, deployment))
        rules = [_upsert(workspace, user, existing, data) for data in _BUILDERS[slug](workspace, user, deployment,
                                                                                      values, existing)]
        if slug == "price_migration":
            _mark_migratable(workspace, deployment, True)
        _sync_escalations(workspace)
    return rules


def policy_disable(*, workspace, user, slug: str, deployment=None) -> int:
    """Switch a policy off for exactly this scope: its rules are deleted (their runs stay)."""
    _policy(slug)
    with transaction.atomic():
        rules = list(_rules(workspace, slug, deployment))
        budget_ids = [rule.trigger_params.get("budget_id") for rule in rules if slug == "cost_cap"]
        Rule.objects.filter(pk__in=[rule.pk for rule in rules]).delete()
        Budget.objects.filter(workspace=workspace, pk__in=[i for i in budget_ids if i]).delete()
        if slug == "price_migration" and deployment is not None:
            _mark_migratable(workspace, deployment, False)
        _sync_escalations(workspace)
    return len(rules)


def policies_state(*, workspace, deployment=None) -> dict[str, bool]:
    """slug → whether an enabled rule of that policy exists for exactly this scope (a deployment,
    or with deployment=None the workspace-wide policies)."""
    on = set(Rule.objects.filter(workspace=workspace, deployment=deployment, enabled=True)
             .exclude(policy="").values_list("policy", flat=True))
    return {slug: slug in on for slug in POLICIES}


def policy_covers(*, workspace, slug: str, deployment) -> bool:
    """Whether an enabled rule of `slug` applies to `deployment` (its own or a workspace-wide one)."""
    scope = Q(deployment__isnull=True) | Q(deployment=deployment) if deployment is not None \
        else Q(deployment__isnull=True)
    return Rule.objects.filter(scope, workspace=workspace, policy=slug, enabled=True).exists()


def _policy(slug: str) -> Policy:
    if slug not in POLICIES:
        raise ApplicationError("Unknown policy.", code="validation_error", fields={"slug": ["Unknown policy."]})
    return POLICIES[slug]


def _rules(workspace, slug: str, deployment):
    return Rule.objects.filter(workspace=workspace, policy=slug, deployment=deployment).order_by("id")


def _clean(policy: Policy, slug: str, deployment, params: dict) -> dict:
    cleaned = p.clean_params(policy.params, params)
    problems = [f"{key}: {message}" if key else message for key, message in cleaned.problems]
    if slug == "cost_cap" and not problems:
        problems += _cost_cap_period(cleaned.value, deployment)
    if problems:
        raise ApplicationError("Some fields are invalid.", code="validation_error", fields={"params": problems})
    return cleaned.value


def _cost_cap_period(values: dict, deployment) -> list[str]:
    allowed = ("total", "day") if deployment is not None else ("month",)
    values["period"] = values["period"] or allowed[0]
    if values["period"] not in allowed:
        scope = "a deployment" if deployment is not None else "the workspace"
        return [f"period: For {scope} use {' or '.join(allowed)}."]
    return []


def _upsert(workspace, user, existing: list[Rule], data: dict) -> Rule:
    """Update this policy's existing rule with the same trigger, else create one."""
    same = next((rule for rule in existing if rule.trigger == data["trigger"]), None)
    if same is None:
        return rule_create(workspace=workspace, user=user, data=data)
    return rule_update(rule=same, user=user, data={**data, "enabled": True})


def _named(title: str, deployment) -> str:
    return f"{title}: {deployment.name}" if deployment is not None else f"{title} (all deployments)"


def _base(slug: str, deployment, trigger: str, actions: list, **extra) -> dict:
    return {"name": _named(POLICIES[slug].name, deployment), "policy": slug, "deployment": deployment,
            "trigger": trigger, "actions": actions, **extra}


def _auto_restart(workspace, user, deployment, values: dict, existing) -> list[dict]:
    return [_base("auto_restart", deployment, Trigger.DOWN, [{"type": "restart"}],
                  cooldown_s=values["cooldown_s"], max_per_hour=values["max_per_hour"],
                  escalation=_escalation(workspace, deployment))]


def _failover(workspace, user, deployment, values: dict, existing) -> list[dict]:
    # still_down only: a deployment that stayed down (restarted or not) for the still-down interval.
    only_still_down = {"all": [{"field": "event.type", "op": "eq", "value": "still_down"},
                               {"field": "automation.auto_restart_enabled", "op": "eq", "value": False}]}
    return [_base("failover", deployment, Trigger.DOWN, [{"type": "failover"}], conditions=only_still_down,
                  cooldown_s=600, max_per_hour=1)]


def _cost_cap(workspace, user, deployment, values: dict, existing) -> list[dict]:
    budget = _budget(workspace, user, deployment, values, existing)
    return [_base("cost_cap", deployment, Trigger.BUDGET_REACHED, [{"type": values["action"]}],
                  trigger_params={"budget_id": budget.pk}, cooldown_s=0, max_per_hour=10)]


def _price_migration(workspace, user, deployment, values: dict, existing) -> list[dict]:
    return [_base("price_migration", deployment, Trigger.PRICE_CHANGE,
                  [{"type": "migrate", "min_saving_percent": values["min_saving_percent"]}],
                  trigger_params=values, cooldown_s=3600, max_per_hour=1)]


def _spot_refill(workspace, user, deployment, values: dict, existing) -> list[dict]:
    max_bid = values["max_bid"]
    if max_bid is None and deployment is not None:
        current = deployment.bid_per_hour or deployment.price_per_hour
        max_bid = round(2 * current, 4) if current else None
    return [_base("spot_refill", deployment, Trigger.PREEMPTED, [{"type": "rebid", **values, "max_bid": max_bid}],
                  cooldown_s=0, max_per_hour=10)]


def _idle_shutdown(workspace, user, deployment, values: dict, existing) -> list[dict]:
    return [_base("idle_shutdown", deployment, Trigger.IDLE, [{"type": "stop"}], trigger_params=values,
                  cooldown_s=600, max_per_hour=1)]


_BUILDERS = {"auto_restart": _auto_restart, "failover": _failover, "cost_cap": _cost_cap,
             "price_migration": _price_migration, "spot_refill": _spot_refill, "idle_shutdown": _idle_shutdown}


def _budget(workspace, user, deployment, values: dict, existing: list[Rule]) -> Budget:
    budget_id = next((rule.trigger_params.get("budget_id") for rule in existing), None)
    budget = Budget.objects.filter(workspace=workspace, pk=budget_id).first() if budget_id else None
    if budget is not None:
        if (budget.period, float(budget.limit_usd)) != (values["period"], float(values["limit_usd"])):
            budget.period, budget.limit_usd = values["period"], round(values["limit_usd"], 2)
            budget.warned_period = budget.reached_period = ""
            budget.save(update_fields=["period", "limit_usd", "warned_period", "reached_period"])
        return budget
    return _budget_create(workspace, user, deployment, values)


def _budget_create(workspace, user, deployment, values: dict) -> Budget:
    kwargs = {"workspace": workspace, "user": user, "deployment": deployment, "period": values["period"],
              "limit_usd": round(values["limit_usd"], 2), "warn_percent": 80}
    try:
        from automation.services.budgets import budget_create
    except ImportError:  # the budgets area's service is not there yet: our own validation already ran
        kwargs["created_by"] = kwargs.pop("user")
        return Budget.objects.create(**kwargs)
    return budget_create(**kwargs)


def _escalation(workspace, deployment) -> list[dict]:
    covered = policy_covers(workspace=workspace, slug="failover", deployment=deployment)
    return [{"type": "failover"}] if covered else [{"type": "stop"}]


_DEFAULT_ESCALATIONS = ([{"type": "failover"}], [{"type": "stop"}])


def _sync_escalations(workspace) -> None:
    """Auto-restart escalates to failover where the failover policy covers it, else stops; an
    escalation someone edited by hand is left alone."""
    for rule in Rule.objects.filter(workspace=workspace, policy="auto_restart").select_related("deployment"):
        wanted = _escalation(workspace, rule.deployment)
        if rule.escalation in _DEFAULT_ESCALATIONS and rule.escalation != wanted:
            Rule.objects.filter(pk=rule.pk).update(escalation=wanted)


def _mark_migratable(workspace, deployment, migratable: bool) -> None:
    from deployments.models import Deployment, Status

    targets = [deployment] if deployment is not None else list(
        Deployment.objects.filter(workspace=workspace).exclude(status=Status.TERMINATED))
    for target in targets:
        check = _health_check(target)
        if check.migratable != migratable:
            HealthCheck.objects.filter(pk=check.pk).update(migratable=migratable)


def _health_check(deployment) -> HealthCheck:
    try:
        from automation.selectors.health import health_check_for
    except ImportError:  # the health area's selector is not there yet
        return HealthCheck.objects.get_or_create(deployment=deployment,
                                                 defaults={"workspace": deployment.workspace})[0]
    return health_check_for(deployment=deployment)
