"""Reads for price alerts, always scoped to one workspace, and "the cheapest offer of a GPU
model right now", which both the alert list and the price triggers ask."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from automation.models import PriceAlert
from pricing.models import Offer
from pricing.gpu_specs import GPU_SPECS
from providers.models import ProviderKind, provider_display_name


def price_alerts_for_workspace(*, workspace) -> QuerySet[PriceAlert]:
    return PriceAlert.objects.filter(workspace=workspace)


def price_alert_get(*, workspace, alert_id) -> PriceAlert:
    """404 when the alert is not this workspace's, so other workspaces' ids reveal nothing."""
    return get_object_or_404(price_alerts_for_workspace(workspace=workspace), pk=alert_id)


def cheapest_offer(*, workspace, gpu_model: str, min_gpus: int = 1, include_spot: bool = False,
                   provider: str = "") -> Offer | None:
    """The offer with the lowest $/GPU-hour of `gpu_model` (at least `min_gpus` GPUs) on the
    workspace's connected clouds; never This machine, never one listed as sold out."""
    offers = (Offer.objects.filter(workspace=workspace, gpu_model=gpu_model, gpu_count__gte=min_gpus)
              .exclude(provider=ProviderKind.LOCAL).exclude(available=0))
    if not include_spot:
        offers = offers.filter(spot=False)
    if provider:
        offers = offers.filter(provider=provider)
    return offers.order_by("price_per_gpu_hour", "price_per_hour", "pk").first()


def cheapest_offer_for_alert(alert: PriceAlert) -> Offer | None:
    return cheapest_offer(workspace=alert.workspace, gpu_model=alert.gpu_model, min_gpus=alert.min_gpus,
                          include_spot=alert.include_spot, provider=alert.provider)


@dataclass(frozen=True)
class AlertRow:
    alert: PriceAlert
    cheapest: Offer | None
    gpu_name: str
    provider_name: str  # blank: any provider


def price_alerts_with_cheapest(*, workspace) -> list[AlertRow]:
    """Each alert of the workspace beside the offer it would be judged by now (a query each:
    a workspace has a handful of alerts)."""
    return [AlertRow(alert, cheapest_offer_for_alert(alert), gpu_display_name(alert.gpu_model),
                     provider_display_name(alert.provider) if alert.provider else "")
            for alert in price_alerts_for_workspace(workspace=workspace).select_related("workspace")]


def gpu_display_name(gpu_model: str) -> str:
    spec = GPU_SPECS.get(gpu_model)
    return spec.name if spec else gpu_model


def gpu_model_choices() -> list[tuple[str, str]]:
    return sorted(((spec.id, spec.name) for spec in GPU_SPECS.values()), key=lambda pair: pair[1])
