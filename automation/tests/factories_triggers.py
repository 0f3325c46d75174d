"""Rows the trigger tests need: rules, GPU readings, offers and health checks."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from automation.models import HealthCheck, Rule
from deployments.models import MetricSample
from pricing.models import Offer
from providers.models import ProviderCredential

_ids = count(1)


def make_rule(workspace, trigger, params, **fields) -> Rule:
    fields.setdefault("actions", [{"type": "notify"}])
    return Rule.objects.create(workspace=workspace, name=f"{trigger} rule", trigger=trigger,
                               trigger_params=params, **fields)


def readings(deployment, utils, *, every=timedelta(seconds=30), end=None):
    """GPU readings `every` apart, the last at `end` (now), oldest first."""
    end = end or timezone.now()
    for index, util in enumerate(utils):
        at = end - every * (len(utils) - 1 - index)
        values = {"cpu_percent": 3.0} if util is None else {"gpu_util_percent": util}
        MetricSample.objects.create(deployment=deployment, seq=next(_ids), at=at, values=values)


def make_credential(workspace, provider="runpod") -> ProviderCredential:
    return ProviderCredential.objects.create(workspace=workspace, provider=provider, label=provider)


def make_offer(credential, *, gpu_model="rtx-4090", price=0.44, gpu_count=1, vram_gb=24.0, **fields) -> Offer:
    """`price` is for the whole offer; the $/GPU-hour follows from the count."""
    return Offer.objects.create(
        workspace=credential.workspace, credential=credential, provider=credential.provider,
        offer_id=fields.pop("offer_id", f"offer-{next(_ids)}"), gpu_model=gpu_model, gpu_name=gpu_model.upper(),
        gpu_count=gpu_count, vram_gb=vram_gb, price_per_hour=price, price_per_gpu_hour=price / gpu_count,
        fetched_at=timezone.now(), **fields)


def set_price(offer: Offer, price: float) -> None:
    Offer.objects.filter(pk=offer.pk).update(price_per_hour=price, price_per_gpu_hour=price / offer.gpu_count)


def migratable(deployment, yes=True) -> HealthCheck:
    return HealthCheck.objects.update_or_create(deployment=deployment, defaults={
        "workspace": deployment.workspace, "migratable": yes})[0]
