"""Who may call an API view: resolve the acting workspace (404 if not a member), then the role.

Order matters: authentication (401), then workspace (404), then role (403), so a caller learns
nothing about workspaces they do not belong to.
"""

from django.http import Http404
from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts import selectors
from accounts.models import ApiToken, Role


def acting_workspace(request, view):
    """The workspace this request acts in: the URL's, the token's, or the session's choice."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    slug = view.kwargs.get(view.workspace_url_kwarg) if view.workspace_url_kwarg else None
    if slug is not None:
        if token is not None and token.workspace.slug != slug:
            raise Http404("No such workspace.")
        return selectors.workspace_get_for_user(user=request.user, slug=slug)
    if token is not None:
        return token.workspace
    return getattr(request._request, "workspace", None)


class WorkspaceRolePermission(BasePermission):
    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if not getattr(view, "workspace_scoped", True):
            return True
        workspace = acting_workspace(request, view)
        membership = selectors.membership_get(user=request.user, workspace=workspace)
        if membership is None:
            raise Http404("No such workspace.")
        request.workspace, request.membership = workspace, membership
        return membership.allows(view.required_role(request))


class RoleRules:
    """Mixin for API views: reads need `read_role`, writes need `write_role`."""

    workspace_scoped = True
    workspace_url_kwarg: str | None = None
    read_role = Role.VIEWER
    write_role = Role.DEVELOPER

    def required_role(self, request) -> str:
        return self.read_role if request.method in SAFE_METHODS else self.write_role
