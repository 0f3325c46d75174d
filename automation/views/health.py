"""Automation pages: a deployment's health fragment (loaded into the deployment page with
hx-get): state, uptime, last check, the probe in words, and for Developers and Admins the form
that changes it (posted back here and swapped in place)."""

from django.urls import path
from django.views.decorators.http import require_http_methods

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation.health.forms import HealthCheckForm
from automation.selectors.health import health_check_for, health_summary
from automation.services.health import health_check_update
from computehub import htmx
from computehub.errors import ApplicationError
from deployments.selectors import deployment_get

FRAGMENT = "automation/partials/health_panel.html"


def _render(request, deployment, form=None, *, saved=False, status=200):
    summary = health_summary(deployment=deployment)
    can_edit = request.membership.allows(Role.DEVELOPER)
    if can_edit and form is None:
        form = HealthCheckForm.for_check(summary["check"])
    context = {"d": deployment, "health": summary, "check": summary["check"], "form": form if can_edit else None,
               "saved": saved}
    return htmx.render_fragment(request, FRAGMENT, context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@workspace_role_required
def deployment_health(request, deployment_id):
    deployment = deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    if request.method != "POST":
        return _render(request, deployment)
    check = health_check_for(deployment=deployment)
    form = HealthCheckForm.for_check(check, request.POST)
    if form.is_valid():
        try:
            health_check_update(check=check, data=form.cleaned_data, user=request.user)
        except ApplicationError as exc:
            form.put_back(exc.fields, exc.message)
        else:
            return _render(request, deployment, saved=True)
    return _render(request, deployment, form, status=422)


urlpatterns = [
    path("deployments/<uuid:deployment_id>/health/", deployment_health, name="deployment-health"),
]
