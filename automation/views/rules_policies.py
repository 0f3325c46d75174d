"""Built-in policies switched on and off in one click: for the whole workspace (a card on the
Automation page) and per deployment (a fragment the deployment page loads). Both answer with
the re-rendered card, so HTMX swaps it in place; Viewers see the state and no switches."""

from django.urls import path
from django.views.decorators.http import require_POST

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation import describe
from automation.policies import POLICIES, policies_state, policy_disable, policy_enable
from automation.selectors.rules import rules_for_workspace
from automation.selectors.spend import budgets_for_workspace
from automation.views import rules_form as form
from computehub import htmx
from computehub.errors import ApplicationError
from deployments.selectors import deployment_get


def _current(workspace, slug: str, deployment) -> dict:
    """The parameters the policy runs with now, read back from its rule (and budget)."""
    rule = rules_for_workspace(workspace=workspace).filter(policy=slug, deployment=deployment).order_by("id").first()
    if rule is None:
        return {}
    first_action = rule.actions[0] if rule.actions and isinstance(rule.actions[0], dict) else {}
    values = {**rule.trigger_params, **first_action, "max_per_hour": rule.max_per_hour, "cooldown_s": rule.cooldown_s}
    if slug == "cost_cap":
        budget = budgets_for_workspace(workspace=workspace).filter(pk=rule.trigger_params.get("budget_id")).first()
        values |= {"action": first_action.get("type", "stop")}
        if budget is not None:
            values |= {"limit_usd": float(budget.limit_usd), "period": budget.period}
    return values


def _cards(workspace, deployment, *, errors: dict | None = None) -> list[dict]:
    state, errors = policies_state(workspace=workspace, deployment=deployment), errors or {}
    cards = []
    for slug, policy in POLICIES.items():
        defaults = {key: value for key, value in policy.defaults.items() if value is not None}
        values = {**defaults, **_current(workspace, slug, deployment)}
        periods = describe.cost_cap_periods(for_deployment=deployment is not None)
        widgets = [form.widget(spec, values.get(spec.name, ""), html_name=f"p-{slug}-{spec.name}",
                               choices=periods if spec.name == "period" else ())
                   for spec in describe.POLICY_INPUTS.get(slug, ())]
        cards.append({"slug": slug, "name": policy.name, "description": policy.description, "on": state[slug],
                      "widgets": widgets, "errors": errors.get(slug, [])})
    return cards


def _params(post, slug: str) -> dict:
    params = {}
    for spec in describe.POLICY_INPUTS.get(slug, ()):
        raw = post.get(f"p-{slug}-{spec.name}", "").strip()
        if spec.kind == "bool":
            params[spec.name] = raw == "on"
        elif raw:
            params[spec.name] = form.number_or_text(raw) if spec.kind == "number" else raw
    return params


def _toggle(request, slug: str, deployment) -> dict:
    """Switch `slug` as the POST asks; the errors to show beside its card, if refused."""
    try:
        if request.POST.get("enable") == "0":
            policy_disable(workspace=request.workspace, user=request.user, slug=slug, deployment=deployment)
        else:
            policy_enable(workspace=request.workspace, user=request.user, slug=slug, deployment=deployment,
                          params=_params(request.POST, slug))
    except ApplicationError as exc:
        return {slug: [m for ms in exc.fields.values() for m in ms] or [exc.message]}
    return {}


def _render(request, deployment, errors: dict, *, status: int = 200):
    context = {"cards": _cards(request.workspace, deployment, errors=errors), "deployment": deployment,
               "can_edit": request.membership.allows(Role.DEVELOPER)}
    return htmx.render_fragment(request, "automation/partials/policies_cards.html", context, status=status)


@require_POST
@workspace_role_required
def workspace_policy(request, slug: str):
    if slug not in POLICIES:
        return _render(request, None, {}, status=404)
    errors = _toggle(request, slug, None)
    if not htmx.is_partial(request):
        return htmx.redirect(request, "/automation/")
    return _render(request, None, errors, status=422 if errors else 200)


@workspace_role_required
def deployment_policies(request, deployment_id):
    deployment = deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    errors = {}
    if request.method == "POST":
        slug = request.POST.get("slug", "")
        errors = _toggle(request, slug, deployment) if slug in POLICIES else {"": ["Unknown policy."]}
    return _render(request, deployment, errors, status=422 if errors else 200)


def workspace_cards(request) -> list[dict]:
    return _cards(request.workspace, None)


urlpatterns = [
    path("policies/<slug:slug>/", workspace_policy, name="policy-toggle"),
    path("deployments/<uuid:deployment_id>/policies/", deployment_policies, name="deployment-policies"),
]
