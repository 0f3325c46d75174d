"""Price history and best-value reads under /api/v1/ (the Prices page embeds the same payloads).

`price-history/?gpu=<model>&days=1|7|30`: one series per provider and spot flag.
`offers/best-value/`: the same filters as `offers/`, answered with the best-value summary.
Bad input answers 400 in the shared error shape, naming the field.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from computehub.api.schema import READ_ERRORS, error_responses
from computehub.api.serializers import StrictSerializer
from computehub.api.views import WorkspaceAPIView
from pricing import selectors
from pricing.filters import OfferSearchSerializer, parse_offer_filters
from pricing.gpu_specs import GPU_SPECS
from providers.models import provider_display_name

HISTORY_DAYS = (1, 7, 30)


class PriceHistoryQuerySerializer(StrictSerializer):
    gpu = serializers.ChoiceField(choices=sorted(GPU_SPECS))
    # ChoiceField maps "7" back to the int choice 7; anything else is refused naming `days`.
    days = serializers.ChoiceField(choices=HISTORY_DAYS, required=False, default=7)


class PointSerializer(serializers.Serializer):
    t = serializers.DateTimeField()
    price_per_gpu_hour = serializers.FloatField()


class SeriesSerializer(serializers.Serializer):
    provider = serializers.CharField()
    provider_name = serializers.CharField()
    spot = serializers.BooleanField()
    points = PointSerializer(many=True)


class PriceHistorySerializer(serializers.Serializer):
    gpu = serializers.CharField()
    days = serializers.IntegerField()
    series = SeriesSerializer(many=True)


def history_payload(*, workspace, gpu_model: str, days: int) -> dict:
    """The JSON the chart draws; shared by the API and the page's embedded first render."""
    series = selectors.price_history(workspace=workspace, gpu_model=gpu_model, days=days)
    data = {
        "gpu": gpu_model,
        "days": days,
        "series": [
            {"provider": s.provider, "provider_name": provider_display_name(s.provider), "spot": s.spot, "points": [{"t": t, "price_per_gpu_hour": p} for t, p in s.points]}
            for s in series
        ],
    }
    return PriceHistorySerializer(data).data


class PriceHistoryApi(WorkspaceAPIView):
    @extend_schema(
        operation_id="price_history",
        parameters=[PriceHistoryQuerySerializer],
        responses={200: PriceHistorySerializer, **error_responses(400, *READ_ERRORS)},
    )
    def get(self, request):
        query = PriceHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days = int(query.validated_data["days"])
        return Response(history_payload(workspace=request.workspace, gpu_model=query.validated_data["gpu"], days=days))


class OfferBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    region = serializers.CharField()
    gpu_model = serializers.CharField()
    gpu_name = serializers.CharField()
    gpu_count = serializers.IntegerField()
    vram_gb = serializers.FloatField()
    price_per_hour = serializers.FloatField()
    price_per_gpu_hour = serializers.FloatField()
    price_per_tflop_hour = serializers.FloatField(allow_null=True)
    spot = serializers.BooleanField()


class PickSerializer(serializers.Serializer):
    offer = OfferBriefSerializer()
    saving_per_gpu_hour = serializers.FloatField(allow_null=True, help_text="Median $/GPU-h minus this offer's; negative when dearer.")
    saving_percent = serializers.FloatField(allow_null=True)


class BestValueSerializer(serializers.Serializer):
    matching = serializers.IntegerField()
    median_gpu_hour = serializers.FloatField(allow_null=True)
    cheapest_per_model = PickSerializer(many=True)
    best_tflop = PickSerializer(allow_null=True)


class BestValueApi(WorkspaceAPIView):
    @extend_schema(
        operation_id="offers_best_value",
        parameters=[OfferSearchSerializer],
        responses={200: BestValueSerializer, **error_responses(400, *READ_ERRORS)},
    )
    def get(self, request):
        filters = parse_offer_filters(request.query_params)
        return Response(BestValueSerializer(selectors.best_value(workspace=request.workspace, filters=filters)).data)


# Included from pricing/api/urls.py, so these routes live beside the views they name.
urlpatterns = [
    path("price-history/", PriceHistoryApi.as_view(), name="api-price-history"),
    path("offers/best-value/", BestValueApi.as_view(), name="api-offer-best-value"),
]
