"""The accounts REST API: identity, workspaces, members, invitations and API tokens.

Views only translate HTTP: WorkspaceRolePermission has resolved `request.workspace` and checked
the role before a handler runs; reads come from selectors, writes from services.
"""

from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api import serializers as s
from accounts.models import ApiToken, Role
from computehub.api.permissions import acting_workspace
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.views import WorkspaceAPIView

SESSION_ONLY_MESSAGE = "Create tokens and workspaces from a signed-in browser session."


def _no_content() -> Response:
    return Response(status=status.HTTP_204_NO_CONTENT)


def _token_workspace(request):
    """A Bearer token acts in one workspace and must not reveal the others."""
    return request.auth.workspace if isinstance(request.auth, ApiToken) else None


def _require_browser_session(request) -> None:
    """A token acts in its own workspace only (DESIGN §5). If it could create tokens or
    workspaces, a leaked one could mint successors that outlive its revocation. Called before
    the body is read, so a refused caller learns nothing from input validation."""
    if isinstance(request.auth, ApiToken):
        raise PermissionDenied(SESSION_ONLY_MESSAGE)


def _not_cached(response: Response) -> Response:
    """For responses carrying a raw token: no browser or proxy cache may keep a copy."""
    add_never_cache_headers(response)
    return response


# --- me/ ------------------------------------------------------------------------------------


class MeApi(WorkspaceAPIView):
    """Any signed-in person reads and edits their own profile, whatever their roles."""

    workspace_scoped = False
    serializer_class = s.MeUpdateSerializer

    def _profile(self) -> dict:
        user, current = self.request.user, acting_workspace(self.request, self)
        return {
            "id": user.pk,
            "email": user.email,
            "name": user.name,
            "workspace": selectors.workspaces_with_role(user=user, only=current).first() if current else None,
            "memberships": selectors.workspaces_with_role(user=user, only=_token_workspace(self.request)),
        }

    @extend_schema(operation_id="me_retrieve", responses={200: s.MeSerializer, **error_responses(401)})
    def get(self, request):
        return Response(s.MeSerializer(self._profile()).data)

    @extend_schema(
        operation_id="me_partial_update",
        request=s.MeUpdateSerializer,
        responses={200: s.MeSerializer, **error_responses(400, 401, 413, 415)},
    )
    def patch(self, request):
        data = self.valid_input(partial=True)
        if "name" in data:
            services.user_update(user=request.user, name=data["name"])
        return Response(s.MeSerializer(self._profile()).data)


# --- workspaces/ ----------------------------------------------------------------------------


class WorkspaceListApi(WorkspaceAPIView):
    """Lists the caller's workspaces; anyone signed in with a browser session may create a team
    (they become its Admin)."""

    workspace_scoped = False
    serializer_class = s.WorkspaceWriteSerializer

    @extend_schema(
        operation_id="workspaces_list",
        responses={200: s.WorkspaceSerializer(many=True), **error_responses(401)},
    )
    def get(self, request):
        workspaces = selectors.workspaces_with_role(user=request.user, only=_token_workspace(request))
        return self.paginated(workspaces, s.WorkspaceSerializer)

    @extend_schema(
        operation_id="workspaces_create",
        request=s.WorkspaceWriteSerializer,
        description="Needs a browser session: an API token gets 403.",
        responses={201: s.WorkspaceSerializer, **error_responses(400, 401, 403, 413, 415)},
    )
    def post(self, request):
        _require_browser_session(request)
        workspace = services.workspace_create(name=self.valid_input()["name"], created_by=request.user)
        workspace = selectors.workspace_with_role(user=request.user, workspace=workspace)
        return Response(s.WorkspaceSerializer(workspace).data, status=status.HTTP_201_CREATED)


class WorkspaceDetailApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"
    write_role = Role.ADMIN
    serializer_class = s.WorkspaceWriteSerializer

    def _workspace_data(self) -> dict:
        workspace = selectors.workspace_with_role(user=self.request.user, workspace=self.request.workspace)
        return s.WorkspaceSerializer(workspace).data

    @extend_schema(
        operation_id="workspaces_retrieve",
        responses={200: s.WorkspaceSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request, slug):
        return Response(self._workspace_data())

    @extend_schema(
        operation_id="workspaces_partial_update",
        request=s.WorkspaceWriteSerializer,
        responses={200: s.WorkspaceSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request, slug):
        data = self.valid_input(partial=True)
        if "name" in data:
            services.workspace_update(workspace=request.workspace, name=data["name"])
        return Response(self._workspace_data())

    @extend_schema(
        operation_id="workspaces_destroy",
        description="Deletes the team and everything in it. A personal workspace cannot be deleted (400).",
        responses={204: None, **error_responses(400, 401, 403, 404)},
    )
    def delete(self, request, slug):
        services.workspace_delete(workspace=request.workspace)
        return _no_content()


# --- workspaces/<slug>/members/ and invitations/ --------------------------------------------


class MemberListApi(WorkspaceAPIView):
    """Members see who is in the team; Admins invite people (the link goes by email only)."""

    workspace_url_kwarg = "slug"
    write_role = Role.ADMIN
    serializer_class = s.InvitationCreateSerializer

    @extend_schema(
        operation_id="workspaces_members_list",
        responses={200: s.MemberSerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def get(self, request, slug):
        return self.paginated(selectors.memberships_for_workspace(workspace=request.workspace), s.MemberSerializer)

    @extend_schema(
        operation_id="workspaces_members_invite",
        summary="Invite someone by email",
        request=s.InvitationCreateSerializer,
        responses={201: s.InvitationSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request, slug):
        data = self.valid_input()
        invitation = services.invitation_create(workspace=request.workspace, invited_by=request.user, **data)
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"
    write_role = Role.ADMIN
    serializer_class = s.MemberUpdateSerializer

    def required_role(self, request) -> str:
        if request.method == "DELETE" and self.kwargs["user_id"] == request.user.pk:
            return Role.VIEWER  # leaving a workspace is every member's own decision
        return super().required_role(request)

    def _membership(self):
        return selectors.membership_get_in_workspace(workspace=self.request.workspace, user_id=self.kwargs["user_id"])

    @extend_schema(
        operation_id="workspaces_members_retrieve",
        responses={200: s.MemberSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request, slug, user_id):
        return Response(s.MemberSerializer(self._membership()).data)

    @extend_schema(
        operation_id="workspaces_members_partial_update",
        summary="Change a member's role (Admin)",
        request=s.MemberUpdateSerializer,
        responses={200: s.MemberSerializer, **error_responses(*WRITE_ERRORS, 409)},
    )
    def patch(self, request, slug, user_id):
        data, membership = self.valid_input(partial=True), self._membership()
        if "role" in data:
            membership = services.membership_change_role(membership=membership, role=data["role"])
        return Response(s.MemberSerializer(membership).data)

    @extend_schema(
        operation_id="workspaces_members_destroy",
        summary="Remove a member (Admin), or leave (yourself, any role)",
        description="Their API tokens for this workspace stop working. The last Admin cannot leave (409).",
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request, slug, user_id):
        services.membership_remove(membership=self._membership())
        return _no_content()


class InvitationListApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"
    read_role = Role.ADMIN  # invitees' addresses are for the people who manage the team

    @extend_schema(
        operation_id="workspaces_invitations_list",
        summary="Pending invitations (Admin)",
        responses={200: s.InvitationSerializer(many=True), **error_responses(401, 403, 404)},
    )
    def get(self, request, slug):
        return self.paginated(selectors.invitations_pending(workspace=request.workspace), s.InvitationSerializer)


class InvitationDetailApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"
    write_role = Role.ADMIN

    @extend_schema(
        operation_id="workspaces_invitations_destroy",
        summary="Withdraw a pending invitation (Admin)",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request, slug, invitation_id):
        invitation = selectors.invitation_get_in_workspace(workspace=request.workspace, invitation_id=invitation_id)
        services.invitation_revoke(invitation=invitation)
        return _no_content()


# --- tokens/ --------------------------------------------------------------------------------


class TokenListApi(WorkspaceAPIView):
    """Your own tokens in the workspace you act in. Any role may hold tokens: a Viewer's token
    can only read, because it carries the Viewer's role. Creating one needs a browser session."""

    write_role = Role.VIEWER
    serializer_class = s.TokenCreateSerializer

    @extend_schema(
        operation_id="tokens_list",
        responses={200: s.TokenSerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def get(self, request):
        return self.paginated(selectors.api_tokens_for(user=request.user, workspace=request.workspace), s.TokenSerializer)

    @extend_schema(
        operation_id="tokens_create",
        description="Needs a browser session: an API token gets 403. The raw token is in this response only.",
        request=s.TokenCreateSerializer,
        responses={201: s.TokenCreatedSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request):
        _require_browser_session(request)
        name = self.valid_input()["name"]
        token, raw = services.api_token_create(user=request.user, workspace=request.workspace, name=name)
        data = s.TokenCreatedSerializer(token, context={"raw_token": raw}).data
        return _not_cached(Response(data, status=status.HTTP_201_CREATED))


class TokenDetailApi(WorkspaceAPIView):
    write_role = Role.VIEWER  # only the caller's own tokens are reachable (others are 404)

    @extend_schema(
        operation_id="tokens_destroy",
        summary="Revoke one of your tokens",
        responses={204: None, **error_responses(*READ_ERRORS)},
    )
    def delete(self, request, token_id):
        token = selectors.api_token_get_for(user=request.user, workspace=request.workspace, token_id=token_id)
        services.api_token_revoke(token=token)
        return _no_content()
