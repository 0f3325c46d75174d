"""The API tokens page: a person's own tokens for the current workspace. Any role may manage them.

A new token's raw value is rendered straight into the POST response and never redirected through
the session or a flash message, so it exists only in that one response.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.decorators import workspace_role_required
from accounts.forms import ApiTokenForm
from accounts.models import Role
from computehub import htmx
from computehub.forms import submit_form


def _tokens_page(request, *, form=None, raw_token=None, status=200):
    context = {
        "form": form or ApiTokenForm(),
        "raw_token": raw_token,
        "tokens": selectors.api_tokens_for(user=request.user, workspace=request.workspace),
    }
    return htmx.render_page(request, "accounts/tokens.html", context, partial="accounts/partials/tokens.html", status=status)


@workspace_role_required(write_role=Role.VIEWER)
def tokens(request):
    if request.method != "POST":
        return _tokens_page(request)
    form = ApiTokenForm(request.POST)
    ok, created = submit_form(
        form, lambda data: services.api_token_create(user=request.user, workspace=request.workspace, name=data["name"])
    )
    if not ok:
        return _tokens_page(request, form=form, status=422)
    response = _tokens_page(request, raw_token=created[1], status=201)
    add_never_cache_headers(response)  # the raw token must not outlive this one response in any cache
    return response


@require_POST
@workspace_role_required(write_role=Role.VIEWER)
def token_revoke(request, token_id: int):
    token = selectors.api_token_get_for(user=request.user, workspace=request.workspace, token_id=token_id)
    services.api_token_revoke(token=token)
    messages.success(request, f"Revoked “{token.name}”. Scripts using it can no longer call the API.")
    return _tokens_page(request) if htmx.is_partial(request) else redirect("tokens")
