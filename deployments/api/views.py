"""The deployments and templates REST API. Reads: any member; writes: Developer and up.
Views only parse, call a service or selector, and shape the answer."""

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.views import WorkspaceAPIView
from computehub.errors import ApplicationError
from deployments import selectors, services
from deployments import templates_service as templates
from deployments.api import serializers as s
from pricing.selectors import offers_for_workspace
from providers.selectors import credential_get

OFFER_GONE = "This offer is no longer available; refresh prices."


# --- templates ----------------------------------------------------------------------------------


class TemplateListApi(WorkspaceAPIView):
    serializer_class = s.TemplateWriteSerializer

    @extend_schema(operation_id="templates_list", summary="Presets, this workspace's and published templates",
                   parameters=[OpenApiParameter("q", str, description="Search in name and description.")],
                   responses={200: s.TemplateSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        found = templates.templates_visible(workspace=request.workspace, q=request.query_params.get("q", ""))
        return self.paginated(found, s.TemplateSerializer)

    @extend_schema(operation_id="templates_create", summary="Create a workspace template (Developer+)",
                   request=s.TemplateWriteSerializer,
                   responses={201: s.TemplateSerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        data = self.valid_input()
        public = data.pop("is_public", False)
        with transaction.atomic():  # a refused publish leaves no template behind
            template = templates.template_create(workspace=request.workspace, user=request.user, **data)
            if public:
                _publish(request, template, True)
        return Response(s.TemplateSerializer(template, context={"request": request}).data, status=status.HTTP_201_CREATED)


def _publish(request, template, public: bool):
    return templates.template_publish(template=template, workspace=request.workspace, user=request.user,
                                      membership=request.membership, public=public)


class TemplateDetailApi(WorkspaceAPIView):
    serializer_class = s.TemplateWriteSerializer

    def _template(self):
        return templates.template_get(workspace=self.request.workspace, template_id=self.kwargs["template_id"])

    @extend_schema(operation_id="templates_retrieve",
                   responses={200: s.TemplateSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, template_id):
        return Response(s.TemplateSerializer(self._template(), context={"request": request}).data)

    @extend_schema(operation_id="templates_partial_update",
                   summary="Change a workspace template; `is_public` publishes it (creator or Admin)",
                   description="Presets and other workspaces' templates are read-only (403 `read_only`).",
                   request=s.TemplateWriteSerializer(partial=True),
                   responses={200: s.TemplateSerializer, **error_responses(*WRITE_ERRORS)})
    def patch(self, request, template_id):
        template, data = self._template(), self.valid_input(partial=True)
        public = data.pop("is_public", None)
        with transaction.atomic():
            template = templates.template_update(template=template, workspace=request.workspace, **data)
            if public is not None:
                template = _publish(request, template, public)
        return Response(s.TemplateSerializer(template, context={"request": request}).data)

    @extend_schema(operation_id="templates_destroy", summary="Delete a workspace template (Developer+)",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, template_id):
        templates.template_delete(template=self._template(), workspace=request.workspace)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- deployments --------------------------------------------------------------------------------


def _detail(request, deployment, code=status.HTTP_200_OK):
    return Response(s.DeploymentDetailSerializer(deployment, context={"request": request}).data, status=code)


def _field_error(field: str, message: str):
    return ApplicationError(message, code="validation_error", fields={field: [message]})


def _template_or_400(workspace, template_id):
    if template_id is None:
        return None
    try:
        return templates.template_get(workspace=workspace, template_id=template_id)
    except Http404:
        raise _field_error("template", "No such template.") from None


def _launch(request, data: dict):
    workspace, user = request.workspace, request.user
    template = _template_or_400(workspace, data.pop("template", None))
    if "offer" in data:
        offer = offers_for_workspace(workspace=workspace).select_related("credential").filter(pk=data.pop("offer")).first()
        if offer is None:
            raise _field_error("offer", OFFER_GONE)
        return services.deployment_create_from_offer(workspace=workspace, user=user, offer=offer, template=template, **data)
    try:
        credential = credential_get(workspace=workspace, credential_id=data.pop("credential"))
    except Http404:
        raise _field_error("credential", "Choose a provider account connected to this workspace.") from None
    params = templates.template_launch_defaults(template, credential.provider) | data
    params.setdefault("name", "deployment")
    params.setdefault("image", "")
    return services.deployment_create(workspace=workspace, user=user, credential=credential,
                                      offer_id=params.pop("offer_id", ""), template=template, **params)


class DeploymentListApi(WorkspaceAPIView):
    serializer_class = s.DeploymentCreateSerializer

    @extend_schema(operation_id="deployments_list",
                   responses={200: s.DeploymentListSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        return self.paginated(selectors.deployments_listed(workspace=request.workspace), s.DeploymentListSerializer)

    @extend_schema(operation_id="deployments_create", summary="Launch a deployment (Developer+)",
                   description="Everything is validated before anything is written or rented: a bad field "
                               "is a 400 naming it, and no deployment exists afterwards.",
                   request=s.DeploymentCreateSerializer,
                   responses={201: s.DeploymentDetailSerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        return _detail(request, _launch(request, self.valid_input()), status.HTTP_201_CREATED)


class DeploymentDetailApi(WorkspaceAPIView):
    def _deployment(self):
        return selectors.deployment_get(workspace=self.request.workspace, deployment_id=self.kwargs["deployment_id"])

    @extend_schema(operation_id="deployments_retrieve",
                   responses={200: s.DeploymentDetailSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, deployment_id):
        return _detail(request, self._deployment())

    @extend_schema(operation_id="deployments_destroy", summary="Delete: terminate the instance (Developer+)",
                   description="Accepted: the reconciler terminates the instance and retries until the provider "
                               "confirms; the deployment's status follows.",
                   responses={202: s.DeploymentDetailSerializer, **error_responses(401, 403, 404, 409)})
    def delete(self, request, deployment_id):
        return _detail(request, _act(self._deployment(), "delete", request.user), status.HTTP_202_ACCEPTED)


def _act(deployment, action: str, user):
    """The service refuses what the provider or the state does not allow; that is a conflict (409)."""
    try:
        return services.deployment_action(deployment=deployment, action=action, user=user)
    except ApplicationError as error:
        if error.code == "not_supported":
            error.status = status.HTTP_409_CONFLICT
        raise


class DeploymentActionApi(WorkspaceAPIView):
    """Base of the three action routes; each subclass names its action and its schema."""

    action = ""

    def act(self, request, deployment_id):
        deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
        return _detail(request, _act(deployment, self.action, request.user), status.HTTP_202_ACCEPTED)


def _action_schema(action: str):
    return extend_schema(
        operation_id=f"deployments_{action}", summary=f"{action.capitalize()} a deployment (Developer+)",
        description="Accepted for the reconciler. An action the provider cannot do, or that the current state "
                    "does not allow, is 409 `not_supported` with the reason.",
        request=None, responses={202: s.DeploymentDetailSerializer, **error_responses(401, 403, 404, 409)})


class DeploymentStartApi(DeploymentActionApi):
    action = "start"

    @_action_schema("start")
    def post(self, request, deployment_id):
        return self.act(request, deployment_id)


class DeploymentStopApi(DeploymentActionApi):
    action = "stop"

    @_action_schema("stop")
    def post(self, request, deployment_id):
        return self.act(request, deployment_id)


class DeploymentRestartApi(DeploymentActionApi):
    action = "restart"

    @_action_schema("restart")
    def post(self, request, deployment_id):
        return self.act(request, deployment_id)
