"""One reconcile under a lease, with the provider's errors turned into retries or explanations."""

import logging

from django.utils import timezone

from deployments.models import Deployment
from deployments.reconciler import lease, schedule, steps
from providers.adapters import (AuthError, CapacityError, NotFound, NotSupported, ProviderError,
                                ProviderUnavailable, RateLimited)
from providers.services import ProviderDisabled

logger = logging.getLogger(__name__)

KEY_REFUSED = "the provider refused the key"
NOT_SUPPORTED_RETRY_S = 3600  # the provider will not learn to do it soon; keep the timeline quiet


def reconcile_deployment(deployment_id, *, force: bool = True) -> str:
    """One step for one deployment; returns what happened ("busy" when another worker holds it,
    "not_due" when `force` is off and its next look is in the future)."""
    owner = lease.new_owner()
    if not lease.claim(deployment_id, owner):
        return "busy" if Deployment.objects.filter(pk=deployment_id).exists() else "missing"
    try:
        deployment = Deployment.objects.select_related("credential").get(pk=deployment_id)
        if not force and deployment.next_attempt_at and deployment.next_attempt_at > timezone.now():
            return "not_due"
        return _guarded_step(deployment)
    finally:
        lease.release(deployment_id, owner)


def _guarded_step(deployment: Deployment) -> str:
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
    outcomes. Sequential: each step is short and the lease keeps parallel sweeps apart."""
    counts: dict[str, int] = {}
    for deployment_id in list(schedule.due().values_list("pk", flat=True)[:limit]):
        outcome = reconcile_deployment(deployment_id, force=False)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
