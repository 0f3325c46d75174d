"""Who may open a page: a signed-in member of the current workspace with a high enough role.

Reads (GET/HEAD/OPTIONS) need `read_role`, everything else `write_role`. The current membership
comes from `accounts.middleware.CurrentWorkspaceMiddleware` (the workspace chosen in the switcher).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django_htmx.http import HttpResponseClientRedirect

from accounts.models import Role

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def workspace_role_required(view=None, *, write_role: str = Role.DEVELOPER, read_role: str = Role.VIEWER):
    """Usable bare (`@workspace_role_required`) or with roles (`@workspace_role_required(write_role=...)`)."""

    def decorator(view_func):
        @wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return _to_login(request)
            required = read_role if request.method in READ_METHODS else write_role
            membership = request.membership
            if membership is None or not membership.allows(required):
                raise PermissionDenied(_refusal(membership, required))
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorator(view) if view is not None else decorator


def _to_login(request):
    """An HTMX call would swap the login page into a table row, so tell htmx to navigate instead."""
    if request.htmx:
        response = redirect_to_login(request.htmx.current_url_abs_path or "/")
        return HttpResponseClientRedirect(response.url)
    return redirect_to_login(request.get_full_path())


def _refusal(membership, required: str) -> str:
    if membership is None:
        return "You are not a member of this workspace."
    return (
        f"This needs the {Role(required).label} role in {membership.workspace.name}; "
        f"you are {membership.get_role_display()}. Ask an Admin of the workspace."
    )
