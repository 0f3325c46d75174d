"""The budgets page: what the workspace spent today and this month, per deployment and per day,
each budget with its progress bar, a form to add one (field errors inline, HTMX) and delete.
Developers and Admins write; Viewers read."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation.models import BudgetPeriod
from automation.selectors import spend as selectors
from automation.services import budgets as services
from computehub import htmx
from computehub.forms import submit_form
from deployments.models import Status
from deployments.selectors import deployments_listed

WORKSPACE = ""


class BudgetForm(forms.Form):
    """Shapes only; the service decides (limit > 0, the period fits the scope, your deployment)."""

    deployment = forms.ChoiceField(label="For", required=False)
    period = forms.ChoiceField(label="Period", choices=BudgetPeriod.choices,
                               help_text="A deployment: in total or per day. The workspace: per month (UTC).")
    limit_usd = forms.CharField(label="Limit (USD)", widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    warn_percent = forms.IntegerField(label="Warn at (%)", initial=80)

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deployment"].choices = [(WORKSPACE, "The whole workspace")] + [
            (str(d.pk), d.name) for d in deployments_listed(workspace=workspace)]


def _create(request, data: dict):
    return services.budget_create(workspace=request.workspace, user=request.user,
                                  deployment=data["deployment"] or None, period=data["period"],
                                  limit_usd=data["limit_usd"], warn_percent=data["warn_percent"])


def _context(request, form=None) -> dict:
    now = timezone.now()
    per_deployment = selectors.deployment_figures(workspace=request.workspace, now=now)
    days = selectors.spend_by_day(workspace=request.workspace, now=now)
    highest = max((usd for _, usd in days), default=0.0)
    return {
        "totals": selectors.spend_totals(workspace=request.workspace, now=now),
        "deployment_spend": [(d, figures) for d, figures in per_deployment
                             if figures["total"] > 0 or d.status == Status.RUNNING],
        "budgets": selectors.budgets_with_progress(workspace=request.workspace, now=now),
        "days": [(day, usd, usd / highest * 100 if highest else 0) for day, usd in days],
        "form": form or BudgetForm(workspace=request.workspace),
        "can_write": request.membership.allows(Role.DEVELOPER),
    }


@require_safe
@workspace_role_required
def index(request):
    return htmx.render_page(request, "automation/budgets.html", _context(request))


@require_POST
@workspace_role_required
def create(request):
    form = BudgetForm(request.POST, workspace=request.workspace)
    ok, _ = submit_form(form, lambda data: _create(request, data))
    if not ok:
        return htmx.render_page(request, "automation/budgets.html", _context(request, form),
                                partial="automation/partials/budgets_form.html", status=422)
    messages.success(request, "Budget saved: a warning at its percentage, the cost cap at 100%.")
    return htmx.redirect(request, reverse("automation:budgets"))


@require_POST
@workspace_role_required
def delete(request, budget_id):
    budget = selectors.budget_get(workspace=request.workspace, budget_id=budget_id)
    services.budget_delete(budget=budget, user=request.user)
    messages.success(request, "Budget deleted.")
    return htmx.render_fragment(request, None) if htmx.is_partial(request) else redirect("automation:budgets")


urlpatterns = [
    path("budgets/", index, name="budgets"),
    path("budgets/new/", create, name="budget-create"),
    path("budgets/<int:budget_id>/delete/", delete, name="budget-delete"),
]
