"""The Automation page: the workspace's rules in plain words, its built-in policies (one click
each), what automation did lately, and the way to every other automation page."""

from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation import describe
from automation.views.rules_policies import workspace_cards
from automation.views.rules_reads import channel_names, last_run_by_rule, recent_runs, rules_for_workspace

SECTIONS = (
    ("automation:channels", "/automation/channels/", "Notification channels",
     "Email, Telegram and signed webhooks: where alerts and automation reports go."),
    ("automation:budgets", "/automation/budgets/", "Budgets", "Spend per deployment and workspace, warnings at 80%."),
    ("automation:jobs", "/automation/jobs/", "Batch jobs", "Run to completion on the cheapest GPU that fits."),
    ("automation:price-alerts", "/automation/price-alerts/", "Price alerts",
     "Hear when a GPU is at or below your price on any provider."),
)


def _link(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:  # that page is not routed yet
        return fallback


def _rule_rows(workspace) -> list[dict]:
    rules = list(rules_for_workspace(workspace=workspace).order_by("position", "id"))
    names, last = channel_names(workspace=workspace), last_run_by_rule(workspace=workspace, rules=rules)
    return [{"rule": rule, "last_run": last.get(rule.pk),
             "when": describe.describe_trigger(rule.trigger, rule.trigger_params,
                                               deployment_name=rule.deployment.name if rule.deployment else None),
             "if": describe.describe_conditions(rule.conditions) if rule.conditions else "",
             "then": describe.describe_actions(rule.actions, channel_names=names)} for rule in rules]


@require_safe
@workspace_role_required
def index(request):
    context = {
        "rules": _rule_rows(request.workspace), "runs": recent_runs(workspace=request.workspace),
        "cards": workspace_cards(request), "deployment": None,
        "can_edit": request.membership.allows(Role.DEVELOPER),
        "sections": [{"url": _link(name, fallback), "title": title, "text": text}
                     for name, fallback, title, text in SECTIONS],
    }
    return render(request, "automation/index.html", context)


urlpatterns = [
    path("", index, name="index"),
]
