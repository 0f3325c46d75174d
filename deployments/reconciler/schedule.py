"""When the reconciler looks at a deployment next. `next_attempt_at` is that time: soon while
something is moving, slower once settled, and a capped exponential backoff after provider
errors (stripe/client-go style, reliability.md §4.3). The sweep picks rows whose time has come."""

from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from deployments.models import Deployment, DesiredState, EventKind, Status
from deployments.selectors import deployment_intent_q
from deployments.services import event_record, scrub_secrets

BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 300.0
# Settled deployments are still observed (drift, preemption, a console stop) at a slower cadence.
OBSERVE_S = {Status.RUNNING: 30, Status.UNKNOWN: 30, Status.STOPPED: 120, Status.FAILED: 300,
             Status.PREEMPTED: 300}
TRANSITIONAL = {Status.PENDING, Status.PROVISIONING, Status.STARTING, Status.STOPPING, Status.TERMINATING}
CONFIRM_S = 3  # a terminate or stop just asked for: look again soon
# reliability.md §4.5 asks a terminate to be retried at least every 30 s until the provider
# confirms; a stop or terminate bills while it waits (a cost cap's above all), so both are retried
# every 10 s however many calls failed, and later only when the provider asks (Retry-After).
BILLING_RETRY_S = 10.0
# A create the provider refused may have made the instance anyway; its tag is looked up every
# OBSERVE_S[FAILED] for this long after the failure, then the orphan scan takes over.
FAILED_LOOKUP_S = 3600


def backoff_s(attempts: int, retry_after: float | None = None) -> float:
    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempts - 1))
    return max(delay, min(retry_after or 0.0, BACKOFF_CAP_S))


def settled(deployment: Deployment) -> bool:
    return deployment.status == deployment.desired_state and deployment.restart_requested_at is None


def next_look_s(deployment: Deployment) -> float | None:
    """Seconds until the next look; None means "at the next sweep"."""
    if deployment.desired_state == DesiredState.DELETED and deployment.status != Status.TERMINATED:
        return CONFIRM_S if deployment.status in TRANSITIONAL else None  # a terminate is never left waiting
    if deployment.status in TRANSITIONAL or not settled(deployment):
        if deployment.status in (Status.FAILED, Status.PREEMPTED, Status.UNKNOWN):
            return OBSERVE_S[Status(deployment.status)]  # no action to take: only watch
        return CONFIRM_S if deployment.status in TRANSITIONAL else None
    return OBSERVE_S.get(Status(deployment.status))


def schedule_after_success(deployment: Deployment) -> None:
    seconds = next_look_s(deployment)
    at = timezone.now() + timedelta(seconds=seconds) if seconds is not None else None
    fields = {"attempts": 0, "next_attempt_at": at}
    if deployment.status != Status.FAILED:  # a failure's reason stays readable
        fields["last_error"] = ""
    Deployment.objects.filter(deployment_intent_q(deployment)).update(**fields)


def _retry_delay(deployment: Deployment, attempts: int, retry_after, delay_s) -> float:
    delay = delay_s if delay_s is not None else backoff_s(attempts, retry_after)
    if _still_billing_against_wish(deployment):
        delay = min(delay, max(BILLING_RETRY_S, min(retry_after or 0.0, BACKOFF_CAP_S)))
    return delay


def _still_billing_against_wish(deployment: Deployment) -> bool:
    """A stop or delete was asked for and the provider has not confirmed it yet."""
    if deployment.desired_state == DesiredState.DELETED:
        return deployment.status != Status.TERMINATED
    return deployment.desired_state == DesiredState.STOPPED and deployment.status != Status.STOPPED


def retry_later(deployment: Deployment, message: str, *, retry_after: float | None = None,
                delay_s: float | None = None) -> None:
    """The step failed for a reason that may pass: status untouched (a provider error is not the
    instance being down), one more attempt counted, an event when the reason is new. Written only
    if the person's request is unchanged since the step read the row: an action taken meanwhile
    reset the schedule to "now", and a backoff for the old request must not delay it."""
    message = scrub_secrets(deployment, message)[:500]
    attempts = deployment.attempts + 1
    delay = _retry_delay(deployment, attempts, retry_after, delay_s)
    Deployment.objects.filter(deployment_intent_q(deployment)).update(
        attempts=attempts, last_error=message, next_attempt_at=timezone.now() + timedelta(seconds=delay))
    if message != deployment.last_error:  # one event per new reason, not one per retry
        event_record(deployment=deployment, kind=EventKind.ERROR, message=message,
                     data={"attempts": attempts, "retry_in_s": round(delay, 1)})
    deployment.attempts, deployment.last_error = attempts, message


def due_now(deployment_id) -> None:
    """Look at it at the next sweep: someone asked while another worker held the lease."""
    Deployment.objects.filter(pk=deployment_id).update(next_attempt_at=timezone.now())


def due(now=None):
    """Deployments the sweep should reconcile now: not finished, their time has come, not leased.
    Never-requested looks (NULL) come first, also on PostgreSQL where NULLs sort last by default,
    so a fresh action is never pushed past the sweep's limit."""
    now = now or timezone.now()
    lookup_over = Q(status_changed_at__isnull=True) | Q(status_changed_at__lt=now - timedelta(seconds=FAILED_LOOKUP_S))
    finished = Q(status=Status.TERMINATED) | (Q(status=Status.FAILED, instance_id="") & lookup_over & ~Q(
        desired_state=DesiredState.DELETED))
    time_has_come = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    free = Q(lease_owner="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return (Deployment.objects.filter(time_has_come & free).exclude(finished)
            .order_by(F("next_attempt_at").asc(nulls_first=True), "pk"))
