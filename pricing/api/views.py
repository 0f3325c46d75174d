"""The offers search, "Refresh now" and the GPU spec table. Views only translate HTTP: filters
are parsed by pricing.filters, reads come from selectors, the refresh from services."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from computehub.api.errors import ErrorSerializer
from computehub.api.pagination import Pagination
from computehub.api.schema import READ_ERRORS, error_responses
from computehub.api.views import WorkspaceAPIView
from pricing import selectors, services
from pricing.api import serializers as s
from pricing.filters import OfferSearchSerializer, parse_offer_filters
from pricing.gpu_specs import GPU_SPECS


class OfferPagination(Pagination):
    """`limit` caps the page size (default 50); `page_size` may ask for less."""

    def get_page_size(self, request):
        limit = int(request.query_params.get("limit") or OfferSearchSerializer().fields["limit"].default)
        asked = request.query_params.get("page_size")
        return min(int(asked), limit) if asked else limit


class OfferListApi(WorkspaceAPIView):
    pagination_class = OfferPagination

    @extend_schema(
        operation_id="offers_list",
        summary="Search offers across every connected cloud",
        parameters=[OfferSearchSerializer, OpenApiParameter("page", int, description="Page number.")],
        responses={200: s.OfferSerializer(many=True), **error_responses(400, *READ_ERRORS)},
    )
    def get(self, request):
        filters = parse_offer_filters(request.query_params)
        offers = selectors.with_staleness(selectors.offer_search(workspace=request.workspace, filters=filters))
        return self.paginated(offers, s.OfferSerializer)


REFRESH_THROTTLED = OpenApiResponse(
    ErrorSerializer, description="Too many refresh requests from you (`REST_FRAMEWORK` rate `refresh`); "
    "retry after the number of seconds in the `Retry-After` header.")


class OfferRefreshApi(WorkspaceAPIView):
    """Developers and Admins may ask for fresh prices; Viewers wait for the 5-minute refresh.
    At most one refresh per workspace is queued per 30 s (the service decides), and each caller
    is throttled besides, so a script in a loop cannot hammer the endpoint."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "refresh"

    @extend_schema(
        operation_id="offers_refresh",
        summary="Refresh this workspace's offers now",
        description="202 either way: `queued` when this call queued a refresh, `already_queued` when one "
        "was queued for this workspace in the last 30 seconds (nothing more is queued).",
        request=None,
        parameters=[OpenApiParameter("Retry-After", int, OpenApiParameter.HEADER, response=[429],
                                     description="Seconds to wait before asking again.")],
        responses={202: s.RefreshQueuedSerializer, **error_responses(401, 403, 404), 429: REFRESH_THROTTLED},
    )
    def post(self, request):
        queued = services.offer_refresh_request(workspace=request.workspace)
        return Response({"status": "queued" if queued else "already_queued"}, status=status.HTTP_202_ACCEPTED)


class GpuListApi(WorkspaceAPIView):
    """The spec table behind $/TFLOP-hour ranking; the same for everyone, but members only."""

    @extend_schema(
        operation_id="gpus_list",
        summary="GPU models and their specs",
        responses={200: s.GpuSpecSerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def get(self, request):
        return self.paginated(sorted(GPU_SPECS.values(), key=lambda spec: spec.id), s.GpuSpecSerializer)
