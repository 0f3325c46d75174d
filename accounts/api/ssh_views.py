"""The workspace SSH keys API under /api/v1/workspaces/<slug>/: `ssh-key/` (ComputeHub's own key:
read by members, generated or rotated by Admins) and `ssh-keys/` (members' public keys: Developers
add and remove their own, Admins anyone's). Views translate HTTP; accounts.ssh_keys_service decides."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts import ssh_keys_selectors as ssh_selectors
from accounts import ssh_keys_service as ssh_service
from accounts.api import ssh_serializers as s
from accounts.models import Role
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.views import WorkspaceAPIView


class WorkspaceKeyApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"
    write_role = Role.ADMIN

    @extend_schema(operation_id="workspaces_ssh_key_retrieve", summary="The workspace's public SSH key",
                   description="404 until an Admin generates one.",
                   responses={200: s.WorkspaceKeyPairSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, slug):
        pair = ssh_selectors.workspace_key_pair(workspace=request.workspace)
        if pair is None:
            raise Http404("This workspace has no SSH key yet; an Admin can generate one.")
        return Response(s.WorkspaceKeyPairSerializer(pair).data)

    @extend_schema(operation_id="workspaces_ssh_key_generate", summary="Generate or rotate the workspace key (Admin)",
                   description="A new ed25519 pair; the private key is stored encrypted and never returned. "
                               "Applies to deployments launched afterwards.",
                   request=None, responses={201: s.WorkspaceKeyPairSerializer, **error_responses(401, 403, 404)})
    def post(self, request, slug):
        pair = ssh_service.workspace_key_generate(workspace=request.workspace, user=request.user)
        return Response(s.WorkspaceKeyPairSerializer(pair).data, status=status.HTTP_201_CREATED)


class MemberKeyListApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"
    serializer_class = s.MemberSshKeyCreateSerializer

    @extend_schema(operation_id="workspaces_ssh_keys_list",
                   responses={200: s.MemberSshKeySerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request, slug):
        return self.paginated(ssh_selectors.member_ssh_keys(workspace=request.workspace), s.MemberSshKeySerializer)

    @extend_schema(operation_id="workspaces_ssh_keys_create", summary="Add your public key (Developer)",
                   request=s.MemberSshKeyCreateSerializer,
                   responses={201: s.MemberSshKeySerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request, slug):
        key = ssh_service.member_key_add(workspace=request.workspace, user=request.user, **self.valid_input())
        return Response(s.MemberSshKeySerializer(key).data, status=status.HTTP_201_CREATED)


class MemberKeyDetailApi(WorkspaceAPIView):
    workspace_url_kwarg = "slug"

    def _key(self):
        return ssh_selectors.member_ssh_key_get(workspace=self.request.workspace, key_id=self.kwargs["key_id"])

    @extend_schema(operation_id="workspaces_ssh_keys_retrieve",
                   responses={200: s.MemberSshKeySerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, slug, key_id):
        return Response(s.MemberSshKeySerializer(self._key()).data)

    @extend_schema(operation_id="workspaces_ssh_keys_destroy", summary="Remove a key (yours, or any as Admin)",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, slug, key_id):
        ssh_service.member_key_delete(key=self._key(), membership=request.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
