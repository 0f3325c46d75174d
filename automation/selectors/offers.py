"""Offers a deployment could move to: the same GPU configuration (model, count, at least its VRAM)
elsewhere, cheapest first. Used by price-aware migration, failover and spot refill."""

from django.db.models import QuerySet

from deployments.models import Deployment
from pricing.models import Offer
from providers.models import ProviderKind


def equivalent_offers(*, deployment: Deployment, other_provider: bool = False, spot: bool | None = False,
                      max_price_per_hour: float | None = None) -> QuerySet[Offer]:
    """Offers of the deployment's workspace with its GPU model and count (and VRAM, when known),
    cheapest first; `other_provider` leaves out its provider (failover); `spot` None: both kinds.
    Never the offer it runs on, never This machine (it is not an equal GPU)."""
    rows = (Offer.objects.filter(workspace_id=deployment.workspace_id, gpu_model=deployment.gpu_model,
                                 gpu_count=deployment.gpu_count, credential__isnull=False)
            .exclude(provider=ProviderKind.LOCAL).exclude(available=0)
            .exclude(credential_id=deployment.credential_id, offer_id=deployment.offer_id))
    if not deployment.gpu_model:
        return rows.none()
    if deployment.vram_gb:
        rows = rows.filter(vram_gb__gte=deployment.vram_gb - 0.5)
    if other_provider:
        rows = rows.exclude(provider=deployment.provider)
    if spot is not None:
        rows = rows.filter(spot=spot)
    if max_price_per_hour is not None:
        rows = rows.filter(price_per_hour__lte=max_price_per_hour)
    return rows.select_related("credential").order_by("price_per_hour", "pk")


def saving_percent(current: float, candidate: float) -> float:
    """How much cheaper `candidate` is than `current`, in percent (0 when it is not cheaper)."""
    if current <= 0 or candidate >= current:
        return 0.0
    return round((current - candidate) / current * 100, 2)
