"""Reads of offers and prices, always scoped to one workspace. Filtering and ranking happen in
the database (indexed columns computed at refresh), never in Python."""

from django.db.models import F, QuerySet

from pricing.filters import OfferFilters
from pricing.models import Offer

_SORTS = {
    "price": (F("price_per_hour").asc(),),
    "gpu_price": (F("price_per_gpu_hour").asc(),),
    "tflop_price": (F("price_per_tflop_hour").asc(nulls_last=True),),
    "vram_price": (F("price_per_vram_gb_hour").asc(),),
    "availability": (F("available").desc(nulls_last=True), F("price_per_gpu_hour").asc()),
}


def offers_for_workspace(*, workspace) -> QuerySet[Offer]:
    return Offer.objects.filter(workspace=workspace)


def offer_search(*, workspace, filters: OfferFilters) -> QuerySet[Offer]:
    """Offers matching `filters`, best first by `filters.sort` (ties broken by id, so pages are stable)."""
    offers = _apply_filters(offers_for_workspace(workspace=workspace), filters)
    return offers.order_by(*_SORTS[filters.sort], "id")


def _apply_filters(offers: QuerySet[Offer], f: OfferFilters) -> QuerySet[Offer]:
    conditions = {
        "gpu_model__in": f.gpu or None,
        "gpu_count__gte": f.min_gpus,
        "vram_gb__gte": f.min_vram_gb,
        "price_per_hour__lte": f.max_price,
        "provider__in": f.provider or None,
        "spot": f.spot,
        "region__icontains": f.region or None,
        "reliability__gte": f.min_reliability,
    }
    return offers.filter(**{lookup: value for lookup, value in conditions.items() if value is not None})


def offer_get(*, workspace, offer_pk) -> Offer:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(offers_for_workspace(workspace=workspace), pk=offer_pk)
