"""The offer search query, parsed and validated once for both the Prices page and the API.

Nonsense is refused with the field named (a 400 in the API, a form error on the page), never
silently ignored: negative counts, unknown GPU models or providers, unknown sorts, huge limits.
"""

from dataclasses import dataclass

from rest_framework import serializers

from computehub.api.serializers import StrictSerializer
from pricing.gpu_specs import GPU_SPECS
from providers.models import ProviderKind

SORT_CHOICES = {
    "price": "$/hour",
    "gpu_price": "$/GPU-hour",
    "tflop_price": "$/TFLOP-hour",
    "vram_price": "$/GB-VRAM-hour",
    "availability": "Availability",
}
MAX_LIMIT = 200


@dataclass(frozen=True)
class OfferFilters:
    gpu: tuple[str, ...] = ()
    min_gpus: int | None = None
    min_vram_gb: float | None = None
    max_price: float | None = None
    provider: tuple[str, ...] = ()
    spot: bool | None = None
    region: str = ""
    min_reliability: float | None = None
    sort: str = "gpu_price"
    limit: int = 50


class CommaSeparatedChoices(serializers.ListField):
    """`gpu=h100-sxm,a100-80gb` or repeated `gpu=...&gpu=...`; each value must be known."""

    def __init__(self, choices, noun: str, **kwargs):
        self.known, self.noun = set(choices), noun
        super().__init__(child=serializers.CharField(), required=False, **kwargs)

    def get_value(self, dictionary):
        values = dictionary.getlist(self.field_name) if hasattr(dictionary, "getlist") else dictionary.get(self.field_name)
        if values in (None, [], ""):
            return serializers.empty
        values = [values] if isinstance(values, str) else values
        return [part.strip() for value in values for part in str(value).split(",") if part.strip()]

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        unknown = sorted(set(values) - self.known)
        if unknown:
            raise serializers.ValidationError(f"Unknown {self.noun}: {', '.join(unknown)}.")
        return tuple(dict.fromkeys(values))


class OfferSearchSerializer(StrictSerializer):
    gpu = CommaSeparatedChoices(GPU_SPECS, "GPU model (see /api/v1/gpus/)")
    min_gpus = serializers.IntegerField(required=False, min_value=1, max_value=64)
    min_vram_gb = serializers.FloatField(required=False, min_value=0, max_value=1024)
    max_price = serializers.FloatField(required=False, min_value=0, max_value=10_000)
    provider = CommaSeparatedChoices(ProviderKind.values, "provider")
    spot = serializers.ChoiceField(choices=["any", "true", "false"], required=False, default="any")
    region = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    min_reliability = serializers.FloatField(required=False, min_value=0, max_value=1)
    sort = serializers.ChoiceField(choices=list(SORT_CHOICES), required=False, default="gpu_price")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=50)
    # Page-only knobs the API ignores: pagination and HTMX's own parameters.
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)

    def to_filters(self) -> OfferFilters:
        data = {k: v for k, v in self.validated_data.items() if k not in ("page", "page_size")}
        data["spot"] = {"any": None, "true": True, "false": False}[data.get("spot", "any")]
        return OfferFilters(**data)


def parse_offer_filters(params) -> OfferFilters:
    """Validated filters from a QueryDict (or dict); raises serializers.ValidationError."""
    serializer = OfferSearchSerializer(data=params)
    serializer.is_valid(raise_exception=True)
    return serializer.to_filters()
