"""Writes of offers and prices: the refresh that asks every connected provider for its offers.

All providers are asked concurrently in one event loop, each under its own timeout, so one slow
cloud costs its timeout rather than adding to everybody's wait. Database writes happen after the
fetches, synchronously, one transaction per credential. A provider that fails keeps its last
offers and is marked stale with a short reason; the others still refresh.
"""

import asyncio
import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from computehub import crypto, realtime
from pricing.gpu_specs import GPU_SPECS
from pricing.models import Offer, PricePoint
from providers.adapters import base as adapters
from providers.models import ProviderCredential
from providers.services import credential_adapter

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 20.0
BATCH_SIZE = 1000  # rows per INSERT: well under SQLite's variable limit with ~20 columns
_UPDATED_FIELDS = [
    "workspace", "provider", "region", "gpu_model", "gpu_name", "gpu_count", "vram_gb", "vcpus", "ram_gb",
    "disk_gb", "price_per_hour", "price_per_gpu_hour", "price_per_tflop_hour", "price_per_vram_gb_hour",
    "min_bid_per_hour", "available", "reliability", "cuda_version", "fetched_at",
]  # fmt: skip


def refresh_timeout() -> float:
    return float(getattr(settings, "COMPUTEHUB_OFFER_REFRESH_TIMEOUT_S", DEFAULT_TIMEOUT_S))


# --- The report ----------------------------------------------------------------------------------


@dataclass
class ProviderResult:
    """How one credential's refresh went; `error` is the short reason shown as "stale since"."""

    credential_id: object
    workspace_id: int
    provider: str
    label: str
    offers: int = 0
    error: str = ""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.error

    def line(self) -> str:
        name = f"{adapters_display(self.provider)} ({self.label})"
        outcome = f"{self.offers} offers" if self.ok else f"stale: {self.error}"
        return f"{name}: {outcome} in {self.elapsed_ms:.0f} ms"


@dataclass
class RefreshReport:
    results: list[ProviderResult] = field(default_factory=list)
    wall_ms: float = 0.0

    @property
    def failed(self) -> list[ProviderResult]:
        return [result for result in self.results if not result.ok]

    @property
    def offers(self) -> int:
        return sum(result.offers for result in self.results)

    def lines(self) -> list[str]:
        return [result.line() for result in self.results]

    def summary(self) -> str:
        good = len(self.results) - len(self.failed)
        text = f"Prices refreshed: {good} of {len(self.results)} providers, {self.offers} offers."
        stale = "; ".join(f"{adapters_display(r.provider)}: {r.error}" for r in self.failed)
        return f"{text} Stale: {stale}." if stale else text


def adapters_display(kind: str) -> str:
    """The provider's display name for messages; the kind itself for one no adapter knows."""
    try:
        from providers.adapters import adapter_class

        return adapter_class(kind).display_name
    except KeyError:
        return kind


# --- Why a fetch failed, in words a user understands --------------------------------------------


def failure_reason(exc: BaseException, timeout: float) -> str:
    """A short reason for `exc`; never the exception text of an unknown error (it may quote a body)."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, json.JSONDecodeError) or (isinstance(exc, adapters.ProviderError) and "json" in exc.raw.lower()):
        return "answered something that is not valid JSON"
    known = {
        adapters.RateLimited: "rate limited",
        adapters.AuthError: "rejected the API key",
        adapters.ProviderUnavailable: "is unreachable or failing",
        adapters.ProviderError: "answered something unexpected",
        adapters.NotSupported: "cannot list offers",
    }
    for cls, reason in known.items():
        if isinstance(exc, cls):
            return reason
    return "answered something we could not read"


# --- Fetching, concurrently ----------------------------------------------------------------------


@dataclass
class _Job:
    result: ProviderResult
    adapter: adapters.ProviderAdapter | None = None
    offers: list[adapters.Offer] | None = None  # None: the fetch failed, keep the old rows


async def _fetch_one(job: _Job, timeout: float) -> None:
    started = time.perf_counter()
    try:
        async with job.adapter:  # closes the connection pool in this loop, whatever happens
            job.offers = list(await asyncio.wait_for(job.adapter.list_offers(), timeout))
    except Exception as exc:  # noqa: BLE001  one provider's failure must never stop the others
        job.result.error = failure_reason(exc, timeout)
        # Type and scrubbed text only, no traceback: a parser's exception may quote a body that
        # echoes the key, and the adapter knows the key to scrub.
        expected = isinstance(exc, adapters.ProviderErrorBase | TimeoutError)
        (logger.warning if expected else logger.error)(
            "Offer refresh of %s (credential %s) failed: %s (%s: %s)", job.result.provider,
            job.result.credential_id, job.result.error, type(exc).__name__, job.adapter._scrub(str(exc))[:300])
    job.result.elapsed_ms = (time.perf_counter() - started) * 1000


async def _fetch_all(jobs: list[_Job], timeout: float) -> None:
    await asyncio.gather(*(_fetch_one(job, timeout) for job in jobs if job.adapter is not None))


def _job_for(credential: ProviderCredential) -> _Job:
    result = ProviderResult(credential.pk, credential.workspace_id, credential.provider, credential.label)
    job = _Job(result)
    try:
        job.adapter = credential_adapter(credential)
    except crypto.DecryptionError:
        # Loud: a key that no longer decrypts means lost or rotated-away encryption keys.
        logger.error("Cannot decrypt the API key of credential %s (%s); its offers were not refreshed",
                     credential.pk, credential.provider)
        result.error = "could not decrypt the stored API key"
    except KeyError:
        result.error = "no adapter for this provider"
    return job


# --- Normalizing ---------------------------------------------------------------------------------


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


def _usable(offers: Iterable[adapters.Offer]) -> list[adapters.Offer]:
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


# --- Writing -------------------------------------------------------------------------------------


def _store_offers(job: _Job, fetched_at: datetime) -> None:
    """Upsert what the provider lists now, then drop what it no longer lists (rows this write
    did not touch are older than `fetched_at`), in one transaction."""
    result = job.result
    rows = [offer_row(offer, result.credential_id, result.workspace_id, fetched_at) for offer in _usable(job.offers)]
    with transaction.atomic():
        Offer.objects.bulk_create(rows, batch_size=BATCH_SIZE, update_conflicts=True,
                                  unique_fields=["credential", "offer_id", "spot"], update_fields=_UPDATED_FIELDS)
        Offer.objects.filter(credential_id=result.credential_id, fetched_at__lt=fetched_at).delete()
        ProviderCredential.objects.filter(pk=result.credential_id).update(
            refreshed_at=fetched_at, refresh_error="", refresh_failed_at=None)
    result.offers = len(rows)


def _mark_stale(result: ProviderResult, failed_at: datetime) -> None:
    ProviderCredential.objects.filter(pk=result.credential_id).update(
        refresh_error=result.error[:300], refresh_failed_at=failed_at)


def record_price_points(*, workspace_id, providers: Iterable[str], recorded_at: datetime) -> int:
    """The cheapest $/GPU-hour per GPU model × provider × spot among the workspace's offers of
    the providers refreshed just now; stale providers record nothing (their prices are old)."""
    cheapest = (
        Offer.objects.filter(workspace_id=workspace_id, provider__in=set(providers)).exclude(gpu_model="")
        .values("gpu_model", "provider", "spot").annotate(best=Min("price_per_gpu_hour")).order_by()
    )  # fmt: skip
    points = [
        PricePoint(workspace_id=workspace_id, gpu_model=row["gpu_model"], provider=row["provider"], spot=row["spot"],
                   price_per_gpu_hour=row["best"], recorded_at=recorded_at)
        for row in cheapest
    ]  # fmt: skip
    PricePoint.objects.bulk_create(points, batch_size=BATCH_SIZE)
    return len(points)


def _write(jobs: list[_Job]) -> None:
    now = timezone.now()
    for job in jobs:
        if job.offers is None:
            _mark_stale(job.result, now)
        else:
            _store_offers(job, now)
    refreshed: dict[int, set[str]] = {}
    for job in jobs:
        if job.result.ok:
            refreshed.setdefault(job.result.workspace_id, set()).add(job.result.provider)
    for workspace_id, providers in refreshed.items():
        record_price_points(workspace_id=workspace_id, providers=providers, recorded_at=now)


# --- Entry points --------------------------------------------------------------------------------


def refresh_offers(*, workspace=None, timeout: float | None = None, notify: bool = False) -> RefreshReport:
    """Refresh every credential (of `workspace`, or of all workspaces). With `notify`, the
    workspace gets a toast once the writes are committed (the "Refresh now" path)."""
    started = time.perf_counter()
    timeout = refresh_timeout() if timeout is None else timeout
    credentials = ProviderCredential.objects.all() if workspace is None else workspace.credentials.all()
    jobs = [_job_for(credential) for credential in credentials.order_by("provider", "label")]
    if any(job.adapter is not None for job in jobs):
        async_to_sync(_fetch_all)(jobs, timeout)
    _write(jobs)
    report = RefreshReport([job.result for job in jobs], (time.perf_counter() - started) * 1000)
    if notify and workspace is not None:
        _notify(workspace.pk, report)
    return report


def _notify(workspace_id, report: RefreshReport) -> None:
    level = "warning" if report.failed else "success"
    transaction.on_commit(
        lambda: realtime.publish_workspace_toast(workspace_id=workspace_id, message=report.summary(), level=level))


def offer_refresh_request(*, workspace) -> None:
    """Queue a refresh of one workspace ("Refresh now"); it runs in the worker after commit."""
    from pricing.tasks import refresh_offers_for_workspace_task

    transaction.on_commit(lambda: refresh_offers_for_workspace_task(workspace.pk))
