"""The Providers page: connected accounts, the Connect form and what each cloud can do.

Views are thin: the form checks shape, services decide, a refusal is shown inline."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from computehub import htmx
from computehub.errors import ApplicationError
from computehub.forms import submit_form
from providers import selectors, services
from providers.forms import ConnectForm
from providers.models import provider_display_name
from providers.selectors import CAPABILITY_ACTIONS

ADMIN_WRITES = {"write_role": Role.ADMIN}


def _context(request, form=None) -> dict:
    return {
        "credentials": selectors.credentials_for_workspace(workspace=request.workspace),
        "kinds": selectors.provider_kinds_with_status(workspace=request.workspace),
        "capability_labels": [label for _, label in CAPABILITY_ACTIONS],
        "form": form or ConnectForm(),
        "can_manage": request.membership.allows(Role.ADMIN),
    }


@require_safe
@workspace_role_required
def index(request):
    return render(request, "providers/index.html", _context(request))


@require_POST
@sensitive_post_parameters("api_key")
@workspace_role_required(**ADMIN_WRITES)
def connect(request):
    form = ConnectForm(request.POST)
    ok, credential = submit_form(form, lambda data: services.credential_create(
        workspace=request.workspace, created_by=request.user, **data))
    if not ok:
        return htmx.render_page(request, "providers/index.html", _context(request, form),
                                partial="providers/partials/connect_form.html", status=422)
    messages.success(request, f"Connected {provider_display_name(credential.provider)} account “{credential.label}”.")
    return htmx.redirect(request, reverse("providers:index"))


@require_POST
@workspace_role_required(**ADMIN_WRITES)
def credential_delete(request, credential_id):
    credential = selectors.credential_get(workspace=request.workspace, credential_id=credential_id)
    try:
        services.credential_delete(credential=credential)
    except ApplicationError as refused:  # e.g. deployments still running on this account
        messages.error(request, refused.message)
        if htmx.is_partial(request):  # keep the row: an empty 422 body would swap it away
            row = {"credential": credential, "can_manage": True}
            return htmx.render_fragment(request, "providers/partials/credential_row.html", row, status=422)
        return redirect("providers:index")
    messages.success(request, f"Disconnected “{credential.label}”. Its key is deleted.")
    return htmx.render_fragment(request, None) if htmx.is_partial(request) else redirect("providers:index")
