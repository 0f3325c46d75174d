"""Resolves the workspace a browser session is acting in (chosen in the header switcher)."""

from accounts import selectors, services

SESSION_KEY = "workspace_id"


def current_membership(request):
    """The session's chosen membership, falling back to the personal workspace."""
    user = request.user
    chosen = request.session.get(SESSION_KEY)
    membership = None
    if chosen:
        membership = user.memberships.select_related("workspace").filter(workspace_id=chosen).first()
    if membership is None:
        workspace = services.workspace_ensure_personal(user=user)
        membership = selectors.membership_get(user=user, workspace=workspace)
        request.session[SESSION_KEY] = str(workspace.pk)
    return membership


def switch_workspace(request, workspace) -> None:
    request.session[SESSION_KEY] = str(workspace.pk)


class CurrentWorkspaceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.workspace = request.membership = None
        if request.user.is_authenticated:
            request.membership = current_membership(request)
            request.workspace = request.membership.workspace
        return self.get_response(request)
