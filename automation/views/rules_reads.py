"""What the automation pages show beyond the rules selectors (automation.selectors.rules): recent
runs, each rule's last run, and the builder's workspace-dependent choices. All workspace-scoped."""

from automation import conditions
from automation.models import RuleRun
from automation.selectors.notify import channels_for_workspace
from automation.selectors.rules import rule_get, rule_runs, rules_for_workspace
from automation.selectors.spend import budgets_for_workspace
from deployments.selectors import deployments_listed

__all__ = ["builder_choices", "channel_names", "last_run_by_rule", "recent_runs", "rule_get", "rules_for_workspace",
           "scope_choices"]


def recent_runs(*, workspace, limit: int = 25) -> list[RuleRun]:
    return list(rule_runs(workspace=workspace).select_related("rule")[:limit])


def last_run_by_rule(*, workspace, rules) -> dict[int, RuleRun]:
    """Each rule's latest run, one query per rule shown (the list is short)."""
    return {rule.pk: run for rule in rules if (run := rule_runs(workspace=workspace, rule=rule).first())}


def channel_names(*, workspace) -> dict[str, str]:
    return {str(c.pk): f"{c.name} ({c.get_kind_display()})" for c in channels_for_workspace(workspace=workspace)}


def builder_choices(*, workspace) -> dict:
    """Options of the builder's selects that depend on the workspace."""
    from pricing.gpu_specs import GPU_SPECS

    channels = list(channels_for_workspace(workspace=workspace))
    return {
        "budget_id": (("", "Any budget"),) + tuple(
            (str(b.pk), f"#{b.pk}: ${b.limit_usd} {b.get_period_display().lower()}")
            for b in budgets_for_workspace(workspace=workspace)),
        "gpu_model": tuple(sorted(((spec.id, spec.name) for spec in GPU_SPECS.values()), key=lambda c: c[1])),
        "provider": (("", "any provider"),) + tuple((p, p) for p in conditions.FIELDS["deployment.provider"].choices),
        "period": (("total", "in total"), ("day", "in one day (UTC)"), ("month", "in one month (UTC)")),
        "channels": tuple((str(c.pk), f"{c.name} ({c.get_kind_display()})") for c in channels),
        "channel": tuple((str(c.pk), c.name) for c in channels if c.kind == "webhook"),
    }


def scope_choices(*, workspace) -> list[tuple[str, str]]:
    return [("", "All deployments of the workspace")] + [
        (str(d.pk), d.name) for d in deployments_listed(workspace=workspace)]
