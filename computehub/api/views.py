from rest_framework.generics import GenericAPIView

from computehub.api.permissions import RoleRules


class WorkspaceAPIView(RoleRules, GenericAPIView):
    """Base for every API view acting in a workspace: `request.workspace` and
    `request.membership` are set before the handler runs; querysets come from selectors.

    `serializer_class` is the view's input serializer (each view accepts one body shape);
    output serializers are named where the response is built."""

    def valid_input(self, **kwargs) -> dict:
        """The validated request body. Invalid input raises a 400 before any service writes."""
        serializer = self.get_serializer(data=self.request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginated(self, queryset, serializer_class):
        """One page of `queryset` in the shared pagination envelope (count, next, previous, results)."""
        page = self.paginate_queryset(queryset)
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)
