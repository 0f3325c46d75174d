"""The providers REST API: provider kinds with capabilities and refresh status, and the
workspace's keys (write-only). Reads: any member; writes: Admins."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts.models import Role
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.views import WorkspaceAPIView
from providers import selectors, services
from providers.api import serializers as s

ADMIN_ONLY_NOTE = ("Any member may read. `fingerprint` and `base_url` are returned to Admins only; "
                   "other roles see the key's `last4` alone.")


class ProviderKindListApi(WorkspaceAPIView):
    @extend_schema(operation_id="providers_list", responses={200: s.ProviderKindSerializer(many=True),
                                                              **error_responses(*READ_ERRORS)})
    def get(self, request):
        return self.paginated(selectors.provider_kinds_with_status(workspace=request.workspace),
                              s.ProviderKindSerializer)


class CredentialListApi(WorkspaceAPIView):
    write_role = Role.ADMIN
    serializer_class = s.CredentialCreateSerializer

    @extend_schema(operation_id="credentials_list", description=ADMIN_ONLY_NOTE, responses={200: s.CredentialSerializer(many=True),
                                                                **error_responses(*READ_ERRORS)})
    def get(self, request):
        return self.paginated(selectors.credentials_for_workspace(workspace=request.workspace),
                              s.CredentialSerializer)

    @extend_schema(
        operation_id="credentials_create",
        summary="Connect a provider account (Admin)",
        description="The key is checked with the provider first: refused (400 `key_refused`), "
                    "unreachable (503), already connected (409). It is never returned.",
        request=s.CredentialCreateSerializer,
        responses={201: s.CredentialSerializer, **error_responses(*WRITE_ERRORS, 409)},
    )
    def post(self, request):
        credential = services.credential_create(workspace=request.workspace, created_by=request.user,
                                                **self.valid_input())
        return Response(s.CredentialSerializer(credential, context={"request": request}).data,
                        status=status.HTTP_201_CREATED)


class CredentialDetailApi(WorkspaceAPIView):
    write_role = Role.ADMIN

    def _credential(self):
        return selectors.credential_get(workspace=self.request.workspace, credential_id=self.kwargs["credential_id"])

    @extend_schema(operation_id="credentials_retrieve", description=ADMIN_ONLY_NOTE,
                   responses={200: s.CredentialSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, credential_id):
        return Response(s.CredentialSerializer(self._credential(), context={"request": request}).data)

    @extend_schema(operation_id="credentials_destroy", summary="Disconnect a provider account (Admin)",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, credential_id):
        services.credential_delete(credential=self._credential())
        return Response(status=status.HTTP_204_NO_CONTENT)
