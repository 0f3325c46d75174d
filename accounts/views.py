"""Team pages: members and roles, invitations, creating and switching workspaces.

API tokens live in `accounts.token_views`. Every view is thin: forms check shape, services decide,
and a refusal (ApplicationError) is shown inline where the action was taken.
"""

from urllib.parse import urlsplit

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from accounts import selectors, services
from accounts.decorators import workspace_role_required
from accounts.forms import InvitationForm, RoleForm, WorkspaceForm
from accounts.middleware import switch_workspace
from accounts.models import Role
from computehub import htmx
from computehub.errors import ApplicationError
from computehub.forms import submit_form

NEW_WORKSPACE = "__new__"  # the switcher's "New team workspace" option; slugs never start with "_"
ADMIN_WRITES = {"write_role": Role.ADMIN}
ANY_MEMBER = {"write_role": Role.VIEWER}


def _team_context(request, **extra) -> dict:
    workspace = request.workspace
    return {
        "members": selectors.memberships_for_workspace(workspace=workspace),
        "invitations": selectors.invitations_pending(workspace=workspace),
        "invite_form": InvitationForm(),
        "can_manage": request.membership.allows(Role.ADMIN),
        **extra,
    }


@require_safe
@workspace_role_required
def team(request):
    return render(request, "accounts/team.html", _team_context(request))


# --- Members --------------------------------------------------------------------------------


def _member_row(request, membership, *, errors=(), status=200):
    context = {"m": membership, "can_manage": request.membership.allows(Role.ADMIN), "errors": errors}
    return htmx.render_fragment(request, "accounts/partials/member_row.html", context, status=status)


def _member_refused(request, membership, errors: list[str]):
    if htmx.is_partial(request):
        return _member_row(request, membership, errors=errors, status=422)
    messages.error(request, " ".join(errors))
    return redirect("team")


@require_POST
@workspace_role_required(**ADMIN_WRITES)
def member_role(request, user_id: int):
    membership = selectors.membership_get_in_workspace(workspace=request.workspace, user_id=user_id)
    form = RoleForm(request.POST)
    ok, _ = submit_form(form, lambda data: services.membership_change_role(membership=membership, role=data["role"]))
    if not ok:
        return _member_refused(request, membership, _all_errors(form))
    messages.success(request, f"{membership.user.email} is now {membership.get_role_display()}.")
    if membership.user_id == request.user.pk:  # an Admin who stepped down loses the controls on this page
        return htmx.redirect(request, reverse("team"))
    return _member_row(request, membership) if htmx.is_partial(request) else redirect("team")


@require_POST
@workspace_role_required(**ADMIN_WRITES)
def member_remove(request, user_id: int):
    membership = selectors.membership_get_in_workspace(workspace=request.workspace, user_id=user_id)
    try:
        services.membership_remove(membership=membership)
    except ApplicationError as error:
        return _member_refused(request, membership, [error.message])
    messages.success(request, f"Removed {membership.user.email} from {request.workspace.name}.")
    return htmx.render_fragment(request, None) if htmx.is_partial(request) else redirect("team")


@require_POST
@workspace_role_required(**ANY_MEMBER)
def team_leave(request):
    try:
        services.membership_remove(membership=request.membership)
    except ApplicationError as error:
        messages.error(request, error.message)
        return htmx.redirect(request, reverse("team"))
    messages.success(request, f"You left {request.workspace.name}.")
    return htmx.redirect(request, reverse("dashboard"))


def _all_errors(form) -> list[str]:
    return [message for messages_ in form.errors.values() for message in messages_]


# --- Invitations ----------------------------------------------------------------------------


def _invitations(request, form=None, *, status=200):
    """The invite form plus the pending list: the fragment HTMX swaps, or the whole team page."""
    if status == 200 and not htmx.is_partial(request):
        return redirect("team")
    context = _team_context(request, **({"invite_form": form} if form else {}))
    return htmx.render_page(
        request, "accounts/team.html", context, partial="accounts/partials/invitations.html", status=status
    )


@require_POST
@workspace_role_required(**ADMIN_WRITES)
def invitation_create(request):
    form = InvitationForm(request.POST)
    ok, invitation = submit_form(
        form,
        lambda data: services.invitation_create(
            workspace=request.workspace, email=data["email"], role=data["role"], invited_by=request.user
        ),
    )
    if not ok:
        return _invitations(request, form, status=422)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return _invitations(request)


@require_POST
@workspace_role_required(**ADMIN_WRITES)
def invitation_revoke(request, invitation_id):
    invitation = selectors.invitation_get_in_workspace(workspace=request.workspace, invitation_id=invitation_id)
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"Revoked the invitation for {invitation.email}.")
    return _invitations(request)


@workspace_role_required(**ANY_MEMBER)
def invitation_accept(request, token: str):
    try:
        if request.method == "POST":
            membership = services.invitation_accept(token=token, user=request.user)
            return _joined(request, membership)
        invitation = services.invitation_check(token=token, user=request.user)
    except ApplicationError as error:
        return render(request, "accounts/invitation_accept.html", {"error": error}, status=error.status)
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation})


def _joined(request, membership):
    switch_workspace(request, membership.workspace)
    messages.success(request, f"Welcome to {membership.workspace.name}! You joined as {membership.get_role_display()}.")
    return redirect("team")


# --- Workspaces -----------------------------------------------------------------------------


@workspace_role_required(**ANY_MEMBER)
def workspace_create(request):
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST":
        ok, workspace = submit_form(form, lambda data: services.workspace_create(name=data["name"], created_by=request.user))
        if ok:
            switch_workspace(request, workspace)
            messages.success(request, f"Created {workspace.name}. Invite your team below.")
            return redirect("team")
    return render(request, "accounts/workspace_create.html", {"form": form}, status=422 if form.errors else 200)


@require_POST
@workspace_role_required(**ANY_MEMBER)
def workspace_switch(request):
    slug = request.POST.get("workspace", "")
    if slug == NEW_WORKSPACE:
        return redirect("workspace_create")
    switch_workspace(request, selectors.workspace_get_for_user(user=request.user, slug=slug))
    return redirect(_safe_next(request))


def _safe_next(request) -> str:
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return _section_of(target) if safe else reverse("dashboard")


def _section_of(path: str) -> str:
    """The same page in the other workspace, but a page about one object (/deployments/<id>/)
    becomes its section (/deployments/): that object belongs to the workspace just left."""
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return reverse("dashboard")
    if not match.kwargs:
        return path
    section = "/" + urlsplit(path).path.strip("/").split("/")[0] + "/"
    try:
        resolve(section)
    except Resolver404:
        return reverse("dashboard")
    return section
