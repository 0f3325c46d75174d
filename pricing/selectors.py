"""Reads of offers and prices, always scoped to one workspace. Filtering and ranking happen in
the database (indexed columns computed at refresh), never in Python."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from pricing.filters import OfferFilters
from pricing.models import Offer, PricePoint
from providers.adapters import Capabilities, adapter_class

_SORTS = {
    "price": (F("price_per_hour").asc(),),
    "gpu_price": (F("price_per_gpu_hour").asc(),),
    "tflop_price": (F("price_per_tflop_hour").asc(nulls_last=True),),
    "vram_price": (F("price_per_vram_gb_hour").asc(nulls_last=True),),
    "availability": (F("available").desc(nulls_last=True), F("price_per_gpu_hour").asc()),
}


def offers_for_workspace(*, workspace) -> QuerySet[Offer]:
    return Offer.objects.filter(workspace=workspace)


def offer_search(*, workspace, filters: OfferFilters) -> QuerySet[Offer]:
    """Offers matching `filters`, best first by `filters.sort` (ties broken by id, so pages are stable)."""
    offers = _apply_filters(offers_for_workspace(workspace=workspace), filters)
    return offers.order_by(*_SORTS[filters.sort], "id")


def with_staleness(offers: QuerySet[Offer]) -> QuerySet[Offer]:
    """Adds `stale`: the offer's provider account failed its last refresh, so it may be outdated."""
    return offers.annotate(stale=ExpressionWrapper(~Q(credential__refresh_error=""), output_field=BooleanField()))


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


def offers_summary(*, workspace) -> dict:
    """For the dashboard: how many GPU offers there are and the cheapest $/GPU-hour among them."""
    gpu_offers = offers_for_workspace(workspace=workspace).filter(gpu_count__gt=0)
    cheapest = gpu_offers.order_by("price_per_gpu_hour", "id").first()
    return {"offers": gpu_offers.count(), "cheapest": cheapest}


def offer_get(*, workspace, offer_pk) -> Offer:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(offers_for_workspace(workspace=workspace), pk=offer_pk)


# --- Best value --------------------------------------------------------------------------------

BEST_VALUE_MODELS = 3  # how many GPU models the summary names; more reads like a second table


@dataclass(frozen=True)
class Pick:
    """One recommended offer and what it saves per GPU-hour against the median of the search."""

    offer: Offer
    saving_per_gpu_hour: float | None  # median minus this offer's $/GPU-h; negative = dearer
    saving_percent: float | None


@dataclass(frozen=True)
class BestValue:
    matching: int
    median_gpu_hour: float | None
    cheapest_per_model: list[Pick]
    best_tflop: Pick | None


def best_value(*, workspace, filters: OfferFilters) -> BestValue:
    """The cheapest offer of each GPU model (cheapest models first) and the best $/TFLOP-hour
    offer among those matching `filters`, each priced against the median $/GPU-hour."""
    offers = _apply_filters(offers_for_workspace(workspace=workspace), filters).select_related("credential")
    matching = offers.count()
    median = _median_gpu_hour(offers, matching)
    tflop = offers.filter(price_per_tflop_hour__isnull=False).order_by("price_per_tflop_hour", "id").first()
    return BestValue(
        matching=matching,
        median_gpu_hour=median,
        cheapest_per_model=[_pick(offer, median) for offer in _cheapest_per_model(offers)],
        best_tflop=_pick(tflop, median) if tflop else None,
    )


def _cheapest_per_model(offers: QuerySet[Offer]) -> list[Offer]:
    """Rank offers within each GPU model in SQL (a window function) and keep each model's first;
    unrecognised GPUs (blank model) have no model to be cheapest of."""
    ranked = offers.exclude(gpu_model="").annotate(
        rank=Window(RowNumber(), partition_by=[F("gpu_model")], order_by=[F("price_per_gpu_hour").asc(), F("id").asc()])
    )
    return list(ranked.filter(rank=1).order_by("price_per_gpu_hour", "id")[:BEST_VALUE_MODELS])


def _median_gpu_hour(offers: QuerySet[Offer], count: int) -> float | None:
    """Exact median without loading the column: ORDER BY the indexed $/GPU-h, OFFSET to the middle
    and read one row (odd count) or two (even count). Portable to SQLite, unlike percentile_cont."""
    if not count:
        return None
    middle = (count - 1) // 2
    take = 1 if count % 2 else 2
    values = list(offers.order_by("price_per_gpu_hour").values_list("price_per_gpu_hour", flat=True)[middle : middle + take])
    return sum(values) / len(values)


def _pick(offer: Offer, median: float | None) -> Pick:
    if not median:
        return Pick(offer, None, None)
    saving = median - offer.price_per_gpu_hour
    return Pick(offer, saving, 100 * saving / median)


def gpu_models_not_offered(*, workspace, gpu_models) -> list[str]:
    """Those of `gpu_models` no connected cloud offers at all, whatever the other filters."""
    offered = set(
        offers_for_workspace(workspace=workspace).filter(gpu_model__in=gpu_models).values_list("gpu_model", flat=True)
    )
    return [model for model in gpu_models if model not in offered]


def offers_in(*, workspace, offer_pks) -> list[Offer]:
    """The offers named by `offer_pks`, in that order; 404 when any is not this workspace's, so
    another workspace's ids reveal nothing."""
    found = offers_for_workspace(workspace=workspace).select_related("credential").in_bulk(offer_pks)
    if len(found) != len(set(offer_pks)):
        raise Http404("No such offer.")
    return [found[pk] for pk in offer_pks]


# --- Price history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    provider: str
    spot: bool
    points: list[tuple[datetime, float]]


def price_history(*, workspace, gpu_model: str, days: int) -> list[Series]:
    """One series per (provider, spot) of `gpu_model`'s cheapest $/GPU-hour over the last `days`,
    oldest point first. The database orders; Python only groups consecutive rows."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        PricePoint.objects.filter(workspace=workspace, gpu_model=gpu_model, recorded_at__gte=since)
        .order_by("provider", "spot", "recorded_at", "id")
        .values_list("provider", "spot", "recorded_at", "price_per_gpu_hour")
    )
    return [
        Series(provider, spot, [(at, price) for _, _, at, price in points])
        for (provider, spot), points in groupby(rows, key=lambda row: (row[0], row[1]))
    ]


def history_gpu_models(*, workspace) -> list[str]:
    """GPU models with recorded history in this workspace, for the chart's select."""
    models = PricePoint.objects.filter(workspace=workspace).values_list("gpu_model", flat=True).distinct()
    return sorted(models)


# --- Providers ---------------------------------------------------------------------------------


def provider_capabilities(kind: str) -> Capabilities | None:
    """What the provider's adapter can do, for the compare drawer; None while no adapter is
    registered for that kind (an offer can outlive its adapter)."""
    try:
        return adapter_class(kind).capabilities
    except KeyError:
        return None
