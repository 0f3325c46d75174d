"""Placing / running: follow the attempt's deployment until it ends, then settle the job. A
cancel deletes the deployment at once; a run past `max_runtime_s` is stopped (outcome timeout,
the job fails: more time elsewhere would not make it shorter). Before an attempt is settled its
last log lines are collected, so its log is complete and a cloud's exit-code line is stored."""

from datetime import timedelta

from django.utils import timezone

from automation.jobqueue.finish import collect_final_lines, end_attempt
from automation.jobqueue.notes import note
from automation.jobqueue.outcome import Outcome, finished_outcome, has_ended
from automation.models import Job, JobAttempt, JobStatus
from deployments.models import Deployment, Status

WATCH_S = 3


def _attempt_started(job: Job):
    attempt = JobAttempt.objects.filter(job=job, number=job.attempts).only("started_at").first()
    return attempt.started_at if attempt is not None else (job.started_at or job.created_at)


def _over_runtime(job: Job, now) -> bool:
    return now - _attempt_started(job) > timedelta(seconds=job.max_runtime_s)


def _look_again(job: Job, deployment: Deployment, now) -> str:
    changes = {"next_attempt_at": now + timedelta(seconds=WATCH_S)}
    became_running = job.status == JobStatus.PLACING and deployment.status == Status.RUNNING
    if became_running:
        changes["status"] = JobStatus.RUNNING
    Job.objects.filter(pk=job.pk, status=job.status).update(**changes)
    if became_running:
        note(job, deployment, "running")
    return "running" if became_running else "watching"


def watch(job: Job) -> str:
    deployment = Deployment.objects.filter(pk=job.deployment_id).select_related("credential").first()
    if deployment is None:
        return end_attempt(job, None, Outcome("failed", detail="Its deployment no longer exists."))
    now = timezone.now()
    over_runtime = _over_runtime(job, now)
    if job.cancel_requested or has_ended(deployment) or over_runtime:
        collect_final_lines(deployment)
    if job.cancel_requested:
        return end_attempt(job, deployment, Outcome("cancelled", detail="Cancelled while it ran."))
    outcome = finished_outcome(deployment)
    if outcome is not None:
        return end_attempt(job, deployment, outcome)
    if over_runtime:
        return end_attempt(job, deployment, Outcome(
            "timeout", detail=f"Stopped: it ran past its limit of {job.max_runtime_s} s."))
    return _look_again(job, deployment, now)
