"""Queued → placing: pick the placement, check the budget, and write the attempt's deployment,
its JobAttempt row and the job's new status in ONE transaction, conditional on the job still
being queued, so a crash or a second worker can never leave a deployment the queue does not know
(or place one job twice). The reconciler launches the deployment after commit."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from automation.jobqueue import placement as p
from automation.jobqueue.finish import finish_job, record_refused_attempt
from automation.jobqueue.marker import wrap_command
from automation.jobqueue.notes import note
from automation.jobqueue.outcome import Outcome
from automation.jobqueue.watch import WATCH_S
from automation.models import Job, JobAttempt, JobStatus
from computehub.errors import ApplicationError
from deployments.services import deployment_create
from deployments.templates_service import template_launch_defaults
from providers.models import ProviderKind

WAIT_S = 30  # no offer fits, or the budget has no room: look again later
JOB_DISK_GB = 20


class _Raced(Exception):
    """The job changed under us (cancelled meanwhile): undo the whole placement."""


def _command(job: Job, provider: str, defaults: dict) -> list[str]:
    """The job's command (or its template's); on a cloud, wrapped to print its exit code last.
    An empty one (the image's own) cannot be wrapped: its attempt has no exit code."""
    command = list(job.command) or list(defaults.get("command", []))
    return wrap_command(command) if command and provider != ProviderKind.LOCAL else command


def _launch_arguments(job: Job, placement: p.Placement, number: int) -> dict:
    provider = placement.credential.provider
    defaults = template_launch_defaults(job.template, provider) if job.template_id else {}
    return {"name": f"{job.name[:70]} #{number}", "image": job.image, "command": _command(job, provider, defaults),
            "env": dict(defaults.get("env", {})) | dict(job.env), "ports": defaults.get("ports", []),
            "disk_gb": defaults.get("disk_gb", JOB_DISK_GB), "spot": placement.spot,
            "bid_per_hour": placement.bid_per_hour, "template": job.template}


def _wait(job: Job, reason: str) -> str:
    Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        last_error=reason[:500], next_attempt_at=timezone.now() + timedelta(seconds=WAIT_S))
    return "waiting"


def _create(job: Job, placement: p.Placement, number: int):
    now = timezone.now()
    with transaction.atomic():
        deployment = deployment_create(workspace=job.workspace, user=job.created_by, credential=placement.credential,
                                       offer_id=placement.offer_id, **_launch_arguments(job, placement, number))
        moved = Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED, cancel_requested=False).update(
            status=JobStatus.PLACING, attempts=number, deployment=deployment, last_error="",
            next_attempt_at=now + timedelta(seconds=WATCH_S), started_at=job.started_at or now)
        if not moved:
            raise _Raced
        JobAttempt.objects.create(job=job, number=number, deployment=deployment, provider=placement.credential.provider,
                                  offer_id=placement.offer_id, price_per_hour=placement.price_per_hour,
                                  spot=placement.spot)
        note(job, deployment, f"attempt {number} of {job.max_retries + 1} on {placement.label} at "
                              f"${placement.price_per_hour:.2f}/h", attempt=number)
    return deployment


def place(job: Job) -> str:
    if job.cancel_requested:
        finish_job(job, None, Outcome("cancelled", detail="Cancelled before it was placed."))
        return "cancelled"
    placement = p.best_placement(job)
    if placement is None:
        return _wait(job, p.no_offer_reason(job))
    refusal = p.budget_refusal(job, placement)
    if refusal:
        return _wait(job, refusal)
    number = job.attempts + 1
    try:
        _create(job, placement, number)
    except _Raced:
        return "raced"
    except ApplicationError as exc:  # the offer went away or the provider needs more: try the next one
        record_refused_attempt(job, placement, number, exc.message)
        return "refused"
    return "placed"
