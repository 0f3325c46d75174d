from accounts.selectors import workspaces_for_user


def workspace(request):
    """The current workspace and the ones the switcher offers."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_workspace": getattr(request, "workspace", None),
        "current_membership": getattr(request, "membership", None),
        "switchable_workspaces": workspaces_for_user(user=user),
    }
