"""/api/v1/ routes: price-alerts/ and price-alerts/<id>/. Reads: any member; writes: Developer
and up. Serializers check types; the service checks meaning (GPU model, price range, provider)."""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from automation.models import PriceAlert
from automation.selectors.price_alerts import (cheapest_offer_for_alert, gpu_display_name, price_alert_get,
                                               price_alerts_for_workspace)
from automation.services import price_alerts as services
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.serializers import StrictCharField, StrictSerializer
from computehub.api.views import WorkspaceAPIView
from deployments.api.serializers import StrictBooleanField


class CheapestOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    provider = serializers.CharField()
    offer_id = serializers.CharField()
    region = serializers.CharField()
    gpu_count = serializers.IntegerField()
    spot = serializers.BooleanField()
    price_per_hour = serializers.FloatField()
    price_per_gpu_hour = serializers.FloatField()


class PriceAlertSerializer(serializers.ModelSerializer):
    gpu_name = serializers.SerializerMethodField()
    max_price_per_hour = serializers.DecimalField(max_digits=8, decimal_places=3, coerce_to_string=False,
                                                  help_text="USD per GPU-hour.")
    cheapest = serializers.SerializerMethodField(help_text="The offer the alert is judged by now; null when none.")

    class Meta:
        model = PriceAlert
        fields = ["id", "gpu_model", "gpu_name", "max_price_per_hour", "min_gpus", "include_spot", "provider",
                  "enabled", "is_below", "last_price", "last_triggered_at", "cheapest", "created_at"]
        read_only_fields = fields

    def get_gpu_name(self, alert) -> str:
        return gpu_display_name(alert.gpu_model)

    @extend_schema_field(CheapestOfferSerializer(allow_null=True))
    def get_cheapest(self, alert):
        offer = cheapest_offer_for_alert(alert)
        return CheapestOfferSerializer(offer).data if offer else None


class PriceAlertWriteSerializer(StrictSerializer):
    """POST needs gpu_model and max_price_per_hour; PATCH takes any subset."""

    gpu_model = StrictCharField(max_length=40, help_text="Canonical GPU id from `gpus/`, e.g. h100-sxm.")
    max_price_per_hour = serializers.DecimalField(max_digits=8, decimal_places=3, coerce_to_string=False,
                                                  help_text="Alert when the cheapest offer is at or below this "
                                                            "many USD per GPU-hour.")
    min_gpus = serializers.IntegerField(required=False, min_value=1, max_value=services.MAX_GPUS)
    include_spot = StrictBooleanField(required=False)
    # A plain string (checked by the service): a second "provider" enum would collide in the schema.
    provider = StrictCharField(required=False, allow_blank=True, max_length=16,
                               help_text=f"One of {', '.join(services.ALERT_PROVIDERS)}; empty: any provider.")
    enabled = StrictBooleanField(required=False)


def _detail(alert, code=status.HTTP_200_OK):
    return Response(PriceAlertSerializer(alert).data, status=code)


class PriceAlertListApi(WorkspaceAPIView):
    serializer_class = PriceAlertWriteSerializer

    @extend_schema(operation_id="price_alerts_list", summary="This workspace's price alerts",
                   responses={200: PriceAlertSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        alerts = price_alerts_for_workspace(workspace=request.workspace).select_related("workspace")
        return self.paginated(alerts, PriceAlertSerializer)

    @extend_schema(operation_id="price_alerts_create", summary="Create a price alert (Developer+)",
                   request=PriceAlertWriteSerializer,
                   responses={201: PriceAlertSerializer, **error_responses(*WRITE_ERRORS, 409)})
    def post(self, request):
        data = dict(self.valid_input())
        alert = services.price_alert_create(workspace=request.workspace, user=request.user, data=data)
        return _detail(alert, status.HTTP_201_CREATED)


class PriceAlertDetailApi(WorkspaceAPIView):
    serializer_class = PriceAlertWriteSerializer

    def _alert(self):
        return price_alert_get(workspace=self.request.workspace, alert_id=self.kwargs["alert_id"])

    @extend_schema(operation_id="price_alerts_retrieve",
                   responses={200: PriceAlertSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, alert_id):
        return _detail(self._alert())

    @extend_schema(operation_id="price_alerts_partial_update", summary="Change a price alert (Developer+)",
                   request=PriceAlertWriteSerializer(partial=True),
                   responses={200: PriceAlertSerializer, **error_responses(*WRITE_ERRORS)})
    def patch(self, request, alert_id):
        alert = self._alert()
        return _detail(services.price_alert_update(alert=alert, data=dict(self.valid_input(partial=True))))

    @extend_schema(operation_id="price_alerts_destroy", summary="Delete a price alert (Developer+)",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, alert_id):
        services.price_alert_delete(alert=self._alert())
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("price-alerts/", PriceAlertListApi.as_view(), name="api-price-alert-list"),
    path("price-alerts/<int:alert_id>/", PriceAlertDetailApi.as_view(), name="api-price-alert-detail"),
]
