"""One reconcile under a lease, with the provider's errors turned into retries or explanations."""

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import connections
from django.utils import timezone

from deployments.models import Deployment
from deployments.reconciler import escalate, lease, schedule, steps
from deployments.reconciler.calls import call_timeout
from providers.adapters import (AuthError, CapacityError, NotFound, NotSupported, ProviderError,
                                ProviderUnavailable, RateLimited)
from providers.services import ProviderDisabled

logger = logging.getLogger(__name__)

KEY_REFUSED = "the provider refused the key"
NOT_SUPPORTED_RETRY_S = 3600  # the provider will not learn to do it soon; keep the timeline quiet
# The sweep bounds each provider call tighter than a one-off reconcile, and works through up to
# this many credentials at once: a hanging provider then delays only its own deployments.
SWEEP_CALL_TIMEOUT_S = 20.0
SWEEP_CREDENTIALS_AT_ONCE = 8
BUSY_WAIT_S = 2.0


def reconcile_deployment(deployment_id, *, force: bool = True) -> str:
    """One step for one deployment; returns what happened ("busy" when another worker holds it,
    "not_due" when `force` is off and its next look is in the future)."""
    owner = lease.new_owner()
    if not _claim(deployment_id, owner, patience_s=BUSY_WAIT_S if force else 0.0):
        if force:  # a person's request arrived mid-step: the holder's schedule must not delay it
            schedule.due_now(deployment_id)
        return "busy" if Deployment.objects.filter(pk=deployment_id).exists() else "missing"
    try:
        deployment = Deployment.objects.select_related("credential").get(pk=deployment_id)
        if not force and deployment.next_attempt_at and deployment.next_attempt_at > timezone.now():
            return "not_due"
        with lease.holding(deployment_id, owner):
            return _guarded_step(deployment)
    finally:
        lease.release(deployment_id, owner)


def _claim(deployment_id, owner: str, *, patience_s: float) -> bool:
    """The lease, waiting up to `patience_s` for a step in progress (usually a sweep's, well under
    a second): a request made meanwhile is then acted on now, not at the next sweep."""
    deadline = time.monotonic() + patience_s
    while not lease.claim(deployment_id, owner):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _guarded_step(deployment: Deployment) -> str:
    outcome = _step_or_retry(deployment)
    escalate.escalate_unconfirmed_terminate(deployment)
    return outcome


def _step_or_retry(deployment: Deployment) -> str:
    try:
        outcome = steps.step(deployment)
    except (ProviderUnavailable, ProviderError, CapacityError, NotFound, TimeoutError) as exc:
        schedule.retry_later(deployment, _describe(exc))
        return "retry"
    except RateLimited as exc:
        schedule.retry_later(deployment, _describe(exc), retry_after=exc.retry_after)
        return "retry"
    except AuthError:
        schedule.retry_later(deployment, f"{deployment.credential.label}: {KEY_REFUSED}", delay_s=schedule.BACKOFF_CAP_S)
        return "auth"
    except NotSupported as exc:
        schedule.retry_later(deployment, exc.reason, delay_s=NOT_SUPPORTED_RETRY_S)
        return "not_supported"
    except ProviderDisabled as exc:
        schedule.retry_later(deployment, str(exc), delay_s=schedule.BACKOFF_CAP_S)
        return "disabled"
    except Exception:  # a bug must not stop the sweep; the traceback goes to the log, not the user
        logger.exception("Reconciling deployment %s failed", deployment.pk)
        schedule.retry_later(deployment, "ComputeHub hit an internal error; it will try again.")
        return "error"
    schedule.schedule_after_success(deployment)
    return outcome


def _describe(exc: Exception) -> str:
    if isinstance(exc, TimeoutError):
        return "The provider did not answer in time; trying again."
    return str(exc) or type(exc).__name__  # adapter messages are scrubbed of the key


def sweep(*, limit: int = 500) -> dict[str, int]:
    """Reconcile every deployment whose next look is due (see schedule.due); returns counts of
    outcomes. One credential's deployments run in order, several credentials at once (each in
    its own thread and DB connection); the lease keeps parallel sweeps apart."""
    counts: dict[str, int] = {}
    for outcome in _run_groups(_by_credential(schedule.due().values_list("pk", "credential_id")[:limit])):
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _by_credential(rows) -> list[list]:
    groups: dict[object, list] = {}
    for deployment_id, credential_id in rows:
        groups.setdefault(credential_id, []).append(deployment_id)
    return list(groups.values())


def _reconcile_group(deployment_ids) -> list[str]:
    outcomes = []
    with call_timeout(SWEEP_CALL_TIMEOUT_S):
        for deployment_id in deployment_ids:
            try:
                outcomes.append(reconcile_deployment(deployment_id, force=False))
            except Exception:  # e.g. the database went away: the other deployments still get their turn
                logger.exception("Sweeping deployment %s failed", deployment_id)
                outcomes.append("error")
    return outcomes


def _reconcile_group_in_thread(deployment_ids) -> list[str]:
    try:
        return _reconcile_group(deployment_ids)
    finally:
        connections.close_all()  # this thread's own connections, which would outlive the pool otherwise


def _run_groups(groups: list[list]) -> list[str]:
    if len(groups) <= 1:  # nothing to overlap: stay in this thread (and its transaction in tests)
        return [outcome for ids in groups for outcome in _reconcile_group(ids)]
    workers = min(SWEEP_CREDENTIALS_AT_ONCE, len(groups))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep") as pool:
        return [outcome for outcomes in pool.map(_reconcile_group_in_thread, groups) for outcome in outcomes]
