"""Writing a refresh: each credential's offers in its own transaction, then the price history.

Each write is isolated: a credential deleted mid-refresh (or a row the database refuses) is
reported and logged, and the run goes on, because the 5-minute job covers every workspace and one
bad account must not cost everybody else their prices. Under the credential's row lock, a write
is skipped if the credential is gone or a newer fetch has already been written.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Min, Q

from pricing.models import Offer, PricePoint
from pricing.services.fetch import Job
from pricing.services.normalize import offer_row, usable
from pricing.services.report import ProviderResult
from providers.models import ProviderCredential

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000  # rows per INSERT: well under SQLite's variable limit with ~20 columns
REMOVED = "was removed during the refresh"
SAVE_FAILED = "could not be saved"
_UPDATED_FIELDS = [
    "workspace", "provider", "region", "gpu_model", "gpu_name", "gpu_count", "vram_gb", "vcpus", "ram_gb",
    "disk_gb", "price_per_hour", "price_per_gpu_hour", "price_per_tflop_hour", "price_per_vram_gb_hour",
    "min_bid_per_hour", "available", "reliability", "cuda_version", "fetched_at",
]  # fmt: skip


def write_all(jobs: list[Job], now: datetime) -> None:
    """Every job's outcome, one isolated write each, then the history of what was written."""
    for job in jobs:
        _write_one(job, now)
    written: dict[object, list] = {}
    for job in jobs:
        if job.stored:
            written.setdefault(job.result.workspace_id, []).append(job.result.credential_id)
    for workspace_id, credential_ids in written.items():
        _record_price_points_safely(workspace_id, credential_ids, now)


def _write_one(job: Job, now: datetime) -> None:
    try:
        if job.offers is None:
            _mark_stale(job.result, job.started_at or now)
        else:
            _store_offers(job)
    except Exception:  # noqa: BLE001  one credential's failed write must not stop the others
        logger.exception("Could not save the offers of credential %s (%s)", job.result.credential_id,
                         job.result.provider)
        job.stored, job.result.offers, job.result.error = False, 0, SAVE_FAILED
        _mark_stale_safely(job.result, job.started_at or now)


def _locked_credential(credential_id) -> ProviderCredential | None:
    """The credential's row, locked until the transaction ends; None once it (or its workspace)
    is gone, so no offer is written against a missing row (a foreign-key error at commit)."""
    return ProviderCredential.objects.select_for_update().filter(pk=credential_id).only("pk", "refreshed_at").first()


def _store_offers(job: Job) -> None:
    """Upsert what the provider lists now, then drop what it no longer lists (rows older than
    this fetch), in one transaction. Rows are stamped with when the provider was asked."""
    result, fetched_at = job.result, job.started_at
    rows = [offer_row(offer, result.credential_id, result.workspace_id, fetched_at) for offer in usable(job.offers)]
    with transaction.atomic():
        credential = _locked_credential(result.credential_id)
        if credential is None:
            result.error = REMOVED
            return
        if credential.refreshed_at is not None and credential.refreshed_at > fetched_at:
            result.superseded = True  # written late: its delete would remove the newer rows
            return
        Offer.objects.bulk_create(rows, batch_size=BATCH_SIZE, update_conflicts=True,
                                  unique_fields=["credential", "offer_id", "spot"], update_fields=_UPDATED_FIELDS)
        Offer.objects.filter(credential_id=result.credential_id, fetched_at__lt=fetched_at).delete()
        ProviderCredential.objects.filter(pk=result.credential_id).update(
            refreshed_at=fetched_at, refresh_error="", refresh_failed_at=None)
    job.stored, result.offers = True, len(rows)


def _mark_stale(result: ProviderResult, failed_at: datetime) -> None:
    """Record the failure, unless a fetch newer than this one has succeeded meanwhile."""
    not_newer = Q(refreshed_at__isnull=True) | Q(refreshed_at__lte=failed_at)
    ProviderCredential.objects.filter(not_newer, pk=result.credential_id).update(
        refresh_error=result.error[:300], refresh_failed_at=failed_at)


def _mark_stale_safely(result: ProviderResult, failed_at: datetime) -> None:
    try:
        _mark_stale(result, failed_at)
    except Exception:  # noqa: BLE001  best effort: the write already failed and was logged
        logger.exception("Could not mark credential %s stale", result.credential_id)


def record_price_points(*, workspace_id, credential_ids: Iterable, recorded_at: datetime) -> int:
    """The cheapest $/GPU-hour per GPU model × provider × spot among the offers just written for
    `credential_ids`. By credential, not provider: another account of the same provider that
    failed keeps old offers, which are not today's prices."""
    cheapest = (
        Offer.objects.filter(workspace_id=workspace_id, credential_id__in=list(credential_ids)).exclude(gpu_model="")
        .values("gpu_model", "provider", "spot").annotate(best=Min("price_per_gpu_hour")).order_by()
    )  # fmt: skip
    points = [
        PricePoint(workspace_id=workspace_id, gpu_model=row["gpu_model"], provider=row["provider"], spot=row["spot"],
                   price_per_gpu_hour=row["best"], recorded_at=recorded_at)
        for row in cheapest
    ]  # fmt: skip
    PricePoint.objects.bulk_create(points, batch_size=BATCH_SIZE)
    return len(points)


def _record_price_points_safely(workspace_id, credential_ids: list, recorded_at: datetime) -> None:
    try:
        with transaction.atomic():  # a workspace deleted meanwhile fails here, not the whole run
            record_price_points(workspace_id=workspace_id, credential_ids=credential_ids, recorded_at=recorded_at)
    except Exception:  # noqa: BLE001
        logger.exception("Could not record the price history of workspace %s", workspace_id)
