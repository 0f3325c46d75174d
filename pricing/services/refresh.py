"""The entry points: the refresh itself (schedule, command, worker) and "Refresh now"."""

import time

from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from computehub import realtime
from pricing.services.fetch import fetch_all, job_for, refresh_timeout
from pricing.services.report import RefreshReport
from pricing.services.store import write_all
from providers.models import ProviderCredential
from providers.selectors import credentials_for_workspace

REFRESH_REQUEST_WINDOW_S = 30  # "Refresh now" queues at most one refresh per workspace this often


def refresh_offers(*, workspace=None, timeout: float | None = None, notify: bool = False) -> RefreshReport:
    """Refresh every credential (of `workspace`, or of all workspaces). With `notify`, the
    workspace gets a toast once the writes are committed (the "Refresh now" path)."""
    started = time.perf_counter()
    timeout = refresh_timeout() if timeout is None else timeout
    jobs = [job_for(credential) for credential in _credentials(workspace)]
    if any(job.adapter is not None for job in jobs):
        async_to_sync(fetch_all)(jobs, timeout)
    write_all(jobs, timezone.now())
    report = RefreshReport([job.result for job in jobs], (time.perf_counter() - started) * 1000)
    if notify and workspace is not None:
        _notify(workspace.pk, report)
    return report


def _credentials(workspace):
    if workspace is not None:
        return credentials_for_workspace(workspace=workspace)
    # Every workspace's: providers.selectors has no such read yet, so the same order is kept here.
    return ProviderCredential.objects.order_by("provider", "-is_sandbox", "label", "pk")


def _notify(workspace_id, report: RefreshReport) -> None:
    level = "warning" if report.failed else "success"
    transaction.on_commit(
        lambda: realtime.publish_workspace_toast(workspace_id=workspace_id, message=report.summary(), level=level))


def refresh_request_key(workspace_id) -> str:
    return f"computehub:refresh:{workspace_id}"


def offer_refresh_request(*, workspace) -> bool:
    """Queue a refresh of one workspace ("Refresh now"), to run in the worker after commit,
    unless one was queued in the last REFRESH_REQUEST_WINDOW_S seconds. Returns whether it
    queued: every click would otherwise ask every connected provider again."""
    from pricing.tasks import refresh_offers_for_workspace_task  # tasks import services lazily too

    # cache.add is set-if-absent in one step (DB row insert or Redis SET NX): of two racing
    # clicks, exactly one queues.
    if not cache.add(refresh_request_key(workspace.pk), 1, REFRESH_REQUEST_WINDOW_S):
        return False
    workspace_id = workspace.pk
    transaction.on_commit(lambda: refresh_offers_for_workspace_task(workspace_id))
    return True
