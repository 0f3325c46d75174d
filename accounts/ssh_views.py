"""The workspace's SSH keys page: ComputeHub's own key pair (Admins generate and rotate it) and
members' public keys (Developers add and remove their own, Admins anyone's; Viewers read).
Views only translate HTTP; accounts.ssh_keys_service decides."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts import ssh_keys_selectors as ssh_selectors
from accounts import ssh_keys_service as ssh_service
from accounts.decorators import workspace_role_required
from accounts.forms import SshKeyForm
from accounts.models import Role
from computehub import htmx
from computehub.errors import ApplicationError
from computehub.forms import submit_form


def _page(request, *, form=None, status=200):
    membership, workspace = request.membership, request.workspace
    keys = list(ssh_selectors.member_ssh_keys(workspace=workspace))
    for key in keys:
        key.removable = ssh_service.member_key_removable(key=key, membership=membership)
    context = {"pair": ssh_selectors.workspace_key_pair(workspace=workspace), "keys": keys,
               "form": form or SshKeyForm(), "can_add": membership.allows(Role.DEVELOPER),
               "can_generate": membership.allows(Role.ADMIN)}
    return htmx.render_page(request, "accounts/ssh_keys.html", context, partial="accounts/partials/ssh_keys.html",
                            status=status)


@workspace_role_required
def ssh_keys(request):
    if request.method != "POST":
        return _page(request)
    form = SshKeyForm(request.POST)
    ok, key = submit_form(form, lambda data: ssh_service.member_key_add(
        workspace=request.workspace, user=request.user, name=data["name"], public_key=data["public_key"]))
    if not ok:
        return _page(request, form=form, status=422)
    messages.success(request, f"Added “{key.name}”. Deployments launched from now on accept it.")
    return _done(request)


@require_POST
@workspace_role_required(write_role=Role.ADMIN)
def ssh_key_generate(request):
    rotated = ssh_selectors.workspace_key_pair(workspace=request.workspace) is not None
    ssh_service.workspace_key_generate(workspace=request.workspace, user=request.user)
    messages.success(request, "Generated a new workspace key. It applies to deployments launched from now on; "
                              "running ones keep the old key until they are relaunched." if rotated else
                              "Generated the workspace key. Deployments launched from now on can be browsed over SFTP.")
    return _done(request)


@require_POST
@workspace_role_required
def ssh_key_delete(request, key_id: int):
    key = ssh_selectors.member_ssh_key_get(workspace=request.workspace, key_id=key_id)
    try:
        ssh_service.member_key_delete(key=key, membership=request.membership)
        messages.success(request, f"Removed “{key.name}” from new launches.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _page(request, status=exc.status) if htmx.is_partial(request) else redirect("ssh_keys")
    return _done(request)


def _done(request):
    return _page(request) if htmx.is_partial(request) else redirect("ssh_keys")
