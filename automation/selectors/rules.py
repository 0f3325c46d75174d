"""Reads of rules and their runs, always scoped to a workspace."""

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from automation.models import Rule, RuleRun


def rules_for_workspace(*, workspace, deployment=None, include_workspace_wide: bool = False) -> QuerySet[Rule]:
    """The workspace's rules; with `deployment`, those scoped to it (plus the workspace-wide ones
    when asked, i.e. every rule that applies to it)."""
    rules = Rule.objects.filter(workspace=workspace).select_related("deployment")
    if deployment is None:
        return rules
    scope = Q(deployment=deployment)
    if include_workspace_wide:
        scope |= Q(deployment__isnull=True)
    return rules.filter(scope)


def rule_get(*, workspace, rule_id) -> Rule:
    """404 for another workspace's rule, exactly as for one that does not exist."""
    try:
        rule = rules_for_workspace(workspace=workspace).filter(pk=int(rule_id)).first()
    except (TypeError, ValueError):
        rule = None
    if rule is None:
        raise Http404("No such rule.")
    return rule


def rule_runs(*, workspace, rule=None, deployment=None) -> QuerySet[RuleRun]:
    """Runs newest first: of one rule, of one deployment, or of the whole workspace."""
    runs = RuleRun.objects.filter(workspace=workspace).select_related("event", "deployment")
    if rule is not None:
        runs = runs.filter(rule=rule)
    if deployment is not None:
        runs = runs.filter(deployment=deployment)
    return runs.order_by("-started_at", "-id")


def deployment_for_filter(*, workspace, deployment_id):
    """A `?deployment=` filter value → the deployment, 404 when it is not one of the workspace's."""
    from deployments.selectors import deployment_get

    try:
        return deployment_get(workspace=workspace, deployment_id=deployment_id)
    except ValidationError:
        raise Http404("No such deployment.") from None
