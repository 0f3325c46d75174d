"""Asking every credential's provider for its offers, concurrently but bounded.

A semaphore caps the provider calls in flight (COMPUTEHUB_REFRESH_CONCURRENCY): the 5-minute job
covers every workspace, and an unbounded gather would open one connection per credential at once.
Up to the bound, calls all run together, so a run takes about as long as its slowest provider.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from computehub import crypto
from computehub.http import redact
from pricing.services.report import ProviderResult, failure_reason
from providers.adapters import base as adapters
from providers.models import ProviderCredential
from providers.services import ProviderDisabled, credential_adapter, credential_secret

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 20.0
DEFAULT_CONCURRENCY = 16


def refresh_timeout() -> float:
    return float(getattr(settings, "COMPUTEHUB_OFFER_REFRESH_TIMEOUT_S", DEFAULT_TIMEOUT_S))


def refresh_concurrency() -> int:
    return max(1, int(getattr(settings, "COMPUTEHUB_REFRESH_CONCURRENCY", DEFAULT_CONCURRENCY)))


@dataclass
class Job:
    """One credential's fetch: its adapter, what it answered and when it was asked."""

    result: ProviderResult
    adapter: adapters.ProviderAdapter | None = None
    offers: list[adapters.Offer] | None = None  # None: the fetch failed, keep the old rows
    # When the provider was asked: the stamp of the rows it answered, so an older answer written
    # late can be recognised (and dropped) against a newer one.
    started_at: datetime | None = None
    stored: bool = False  # its offers were written this run (price history reads only those)
    # The key, only to scrub it from exception texts; repr=False keeps it out of any repr.
    secrets: tuple[str, ...] = field(default=(), repr=False)


def job_for(credential: ProviderCredential) -> Job:
    result = ProviderResult(credential.pk, credential.workspace_id, credential.provider, credential.label)
    job = Job(result)
    try:
        job.adapter = credential_adapter(credential)
        job.secrets = (credential_secret(credential),)
    except crypto.DecryptionError:
        # Loud: a key that no longer decrypts means lost or rotated-away encryption keys.
        logger.error("Cannot decrypt the API key of credential %s (%s); its offers were not refreshed",
                     credential.pk, credential.provider)
        job.adapter, result.error = None, "could not decrypt the stored API key"
    except ProviderDisabled as disabled:
        result.error = str(disabled)
    except KeyError:
        result.error = "no adapter for this provider"
    return job


async def fetch_all(jobs: list[Job], timeout: float) -> None:
    slots = asyncio.Semaphore(refresh_concurrency())  # made here: a semaphore belongs to one loop
    await asyncio.gather(*(_fetch_one(job, timeout, slots) for job in jobs if job.adapter is not None))


async def _fetch_one(job: Job, timeout: float, slots: asyncio.Semaphore) -> None:
    async with slots:  # waiting for a slot is not the provider's time: its timeout starts after
        job.started_at = timezone.now()
        started = time.perf_counter()
        try:
            async with job.adapter:  # closes the connection pool in this loop, whatever happens
                job.offers = list(await asyncio.wait_for(job.adapter.list_offers(), timeout))
        except Exception as exc:  # noqa: BLE001  one provider's failure must never stop the others
            job.result.error = failure_reason(exc, timeout)
            _log_failure(job, exc)
        job.result.elapsed_ms = (time.perf_counter() - started) * 1000


def _log_failure(job: Job, exc: Exception) -> None:
    # Type and scrubbed text only, no traceback: a parser's exception may quote a body that
    # echoes the key.
    expected = isinstance(exc, adapters.ProviderErrorBase | TimeoutError)
    (logger.warning if expected else logger.error)(
        "Offer refresh of %s (credential %s) failed: %s (%s: %s)", job.result.provider, job.result.credential_id,
        job.result.error, type(exc).__name__, redact(str(exc), job.secrets)[:300])
