"""The end of an attempt and of a job: the attempt's outcome, exit code and cost are recorded,
its deployment is deleted (its logs and timeline stay on the deployment's page), then the job
retries on the next best offer or ends, telling people through the automation outbox."""

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from automation.events import event_emit
from automation.jobqueue.notes import note
from automation.jobqueue.outcome import Outcome
from automation.models import EventType, Job, JobAttempt, JobStatus
from automation.selectors.jobs import ACTIVE
from computehub.errors import ApplicationError
from deployments.collectors import collect_logs
from deployments.models import DesiredState
from deployments.services import deployment_action
from deployments.services.spend import deployment_accrue_spend
from providers.adapters.base import ProviderErrorBase

logger = logging.getLogger(__name__)

FINAL = {"succeeded": JobStatus.SUCCEEDED, "cancelled": JobStatus.CANCELLED}
EVENTS = {JobStatus.SUCCEEDED: EventType.SUCCEEDED, JobStatus.FAILED: EventType.FAILED}


def delete_deployment(deployment) -> None:
    """Nothing may leak: the queue deletes every attempt's deployment once it has ended."""
    if deployment is None or deployment.desired_state == DesiredState.DELETED:
        return
    try:
        deployment_action(deployment=deployment, action="delete", user=None)
    except ApplicationError as exc:  # deleted meanwhile by someone else: what we wanted
        logger.info("Job deployment %s: delete not needed (%s)", deployment.pk, exc.message)


def _end_attempt(job: Job, deployment, outcome: Outcome) -> None:
    if deployment is not None:
        deployment_accrue_spend(deployment=deployment)  # bill up to now: a timed-out run stops here
        deployment.refresh_from_db()
    cost = deployment.spend_usd if deployment is not None else 0.0
    JobAttempt.objects.filter(job=job, number=job.attempts, finished_at__isnull=True).update(
        outcome=outcome.outcome, exit_code=outcome.exit_code, cost_usd=cost, detail=outcome.detail[:500],
        finished_at=timezone.now())
    code = "" if outcome.exit_code is None else f" (exit code {outcome.exit_code})"
    note(job, deployment, f"attempt {job.attempts} {outcome.outcome}{code}; deleting its deployment",
         outcome=outcome.outcome, exit_code=outcome.exit_code)
    delete_deployment(deployment)


def _job_cost(job: Job) -> float:
    return JobAttempt.objects.filter(job=job).aggregate(usd=Sum("cost_usd", default=0.0))["usd"]


def _summary(job: Job, status: str, outcome: Outcome) -> str:
    code = "" if outcome.exit_code is None else f", exit code {outcome.exit_code}"
    return (f"Job {job.name} {status}{code} after {job.attempts} attempt(s), cost ${_job_cost(job):.2f}"
            + ("" if status == JobStatus.SUCCEEDED else f": {outcome.detail}"))


def finish_job(job: Job, deployment, outcome: Outcome) -> bool:
    """The job's final status (once: a conditional UPDATE), and its succeeded / failed event."""
    status = FINAL.get(outcome.outcome, JobStatus.FAILED)
    detail = "" if status == JobStatus.SUCCEEDED else outcome.detail[:500]
    ended = Job.objects.filter(pk=job.pk, status__in=ACTIVE).update(
        status=status, exit_code=outcome.exit_code, cost_usd=_job_cost(job), finished_at=timezone.now(),
        last_error=detail, next_attempt_at=None)
    if ended and status in EVENTS:
        event_emit(workspace=job.workspace, type=EVENTS[status], dedup_key=f"job:{job.pk}:{status}",
                   summary=_summary(job, status, outcome), deployment=deployment,
                   data={"job_id": job.pk, "outcome": outcome.outcome, "exit_code": outcome.exit_code,
                         "attempts": job.attempts})
    return bool(ended)


def _requeue(job: Job, outcome: Outcome) -> None:
    Job.objects.filter(pk=job.pk, status__in=ACTIVE).update(
        status=JobStatus.QUEUED, exit_code=outcome.exit_code, cost_usd=_job_cost(job), next_attempt_at=None,
        last_error=f"Attempt {job.attempts} {outcome.outcome}: {outcome.detail}"[:500])


def settle(job: Job, deployment, outcome: Outcome) -> str:
    """After an attempt: retry on the next best offer while retries are left, else end the job."""
    if outcome.retryable and job.attempts <= job.max_retries and not job.cancel_requested:
        _requeue(job, outcome)
        note(job, deployment, f"retrying on the next best offer ({job.attempts} of {job.max_retries + 1} used)")
        return "retry"
    finish_job(job, deployment, outcome)
    return outcome.outcome


def collect_final_lines(deployment) -> None:
    """The attempt's last lines are stored before its outcome is read and its deployment deleted:
    the log is complete at once, and a cloud's last line carries the exit code."""
    try:
        collect_logs(deployment)
    except ProviderErrorBase as exc:  # the outcome falls back to what the provider's status says
        logger.warning("Could not collect the last log lines of job deployment %s: %s", deployment.pk, exc)
    except Exception:  # the log is a convenience; the job's outcome must still be recorded
        logger.exception("Could not collect the last log lines of job deployment %s", deployment.pk)


def end_attempt(job: Job, deployment, outcome: Outcome) -> str:
    with transaction.atomic():
        _end_attempt(job, deployment, outcome)
        return settle(job, deployment, outcome)


def record_refused_attempt(job: Job, placement, number: int, message: str) -> str:
    """The launch itself was refused (the offer vanished, say): it counts as a failed attempt, so
    the next one goes elsewhere and a job can never spin on one bad offer."""
    with transaction.atomic():
        JobAttempt.objects.create(job=job, number=number, provider=placement.credential.provider,
                                  offer_id=placement.offer_id, price_per_hour=placement.price_per_hour,
                                  spot=placement.spot, outcome="failed", detail=message[:500],
                                  finished_at=timezone.now())
        Job.objects.filter(pk=job.pk).update(attempts=number)
        job.attempts = number
        return settle(job, None, Outcome("failed", detail=f"The launch was refused: {message}"))
