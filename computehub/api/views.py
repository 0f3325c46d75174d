from rest_framework.generics import GenericAPIView

from computehub.api.permissions import RoleRules


class WorkspaceAPIView(RoleRules, GenericAPIView):
    """Base for every API view acting in a workspace: `request.workspace` and
    `request.membership` are set before the handler runs; querysets come from selectors."""
