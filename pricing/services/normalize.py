"""A provider's offers as Offer rows: canonical GPU, VRAM and the ranking columns search sorts by."""

import math
from collections.abc import Iterable
from datetime import datetime

from pricing.gpu_specs import GPU_SPECS
from pricing.models import Offer
from providers.adapters import base as adapters


def ranking_columns(price_per_hour: float, gpu_count: int, vram_gb: float, gpu_model: str | None) -> dict:
    """$/GPU-h, $/TFLOP-h (dense FP16) and $/GB-VRAM-h. A CPU-only offer (0 GPUs) has no TFLOPS
    and no VRAM, so those two are null (sorted last) rather than an invented figure."""
    spec = GPU_SPECS.get(gpu_model or "")
    tflops = gpu_count * spec.fp16_tflops if spec else 0
    vram = gpu_count * vram_gb
    return {
        "price_per_gpu_hour": price_per_hour / max(gpu_count, 1),
        "price_per_tflop_hour": price_per_hour / tflops if tflops > 0 else None,
        "price_per_vram_gb_hour": price_per_hour / vram if vram > 0 else None,
    }


def _vram_of(offer: adapters.Offer) -> float:
    if offer.vram_gb_per_gpu:
        return float(offer.vram_gb_per_gpu)
    spec = GPU_SPECS.get(offer.gpu_model or "")
    return spec.vram_gb if spec else 0.0


def offer_row(offer: adapters.Offer, credential_id, workspace_id, fetched_at: datetime) -> Offer:
    vram = _vram_of(offer)
    return Offer(
        workspace_id=workspace_id, credential_id=credential_id, provider=offer.provider, offer_id=offer.offer_id,
        region=(offer.region or "")[:100], gpu_model=offer.gpu_model or "", gpu_name=(offer.gpu_name_raw or "")[:120],
        gpu_count=offer.gpu_count, vram_gb=vram, vcpus=offer.vcpus, ram_gb=offer.ram_gb, disk_gb=offer.disk_gb,
        price_per_hour=offer.price_per_hour, spot=offer.spot, min_bid_per_hour=offer.min_bid_per_hour,
        available=offer.available, reliability=offer.reliability, cuda_version=(offer.cuda_version or "")[:16],
        fetched_at=fetched_at, **ranking_columns(offer.price_per_hour, offer.gpu_count, vram, offer.gpu_model),
    )  # fmt: skip


def usable(offers: Iterable[adapters.Offer]) -> list[adapters.Offer]:
    """One offer per (offer_id, spot), the cheapest, and none with a non-finite price: a
    duplicate key would make the upsert touch a row twice, which PostgreSQL refuses."""
    best: dict[tuple[str, bool], adapters.Offer] = {}
    for offer in offers:
        if not math.isfinite(offer.price_per_hour) or not offer.offer_id:
            continue
        key = (str(offer.offer_id)[:200], offer.spot)
        if key not in best or offer.price_per_hour < best[key].price_per_hour:
            best[key] = offer
    return list(best.values())
