"""The queue's loop (the autopilot calls advance_jobs every 3 s). Each job is advanced under a
lease (a conditional UPDATE, like the reconciler's), so several workers never place or settle
one job twice, and a worker that died holds a job only until its lease runs out."""

import logging
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from automation.jobqueue.launch import place
from automation.jobqueue.watch import watch
from automation.models import Job, JobStatus
from automation.selectors.jobs import ACTIVE
from deployments.reconciler.lease import new_owner

logger = logging.getLogger(__name__)

LEASE_S = 120
BATCH = 100


def _free(now) -> Q:
    return Q(lease_owner="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def _claim(job_id, owner: str) -> bool:
    now = timezone.now()
    return Job.objects.filter(_free(now), pk=job_id).update(
        lease_owner=owner, lease_until=now + timedelta(seconds=LEASE_S)) == 1


def _release(job_id, owner: str) -> None:
    Job.objects.filter(pk=job_id, lease_owner=owner).update(lease_owner="", lease_until=None)


def _step(job: Job) -> str:
    if job.status == JobStatus.QUEUED:
        return place(job)
    if job.status in (JobStatus.PLACING, JobStatus.RUNNING):
        return watch(job)
    return "finished"


def advance_job(job_id, *, force: bool = True) -> str:
    """One step for one job; "busy" when another worker holds it, "not_due" when its next look
    is later (and `force` is off)."""
    owner = new_owner()
    if not _claim(job_id, owner):
        return "busy"
    try:
        job = Job.objects.select_related("workspace", "template", "created_by").get(pk=job_id)
        if not force and job.next_attempt_at and job.next_attempt_at > timezone.now():
            return "not_due"
        return _step(job)
    finally:
        _release(job_id, owner)


def due(now=None):
    now = now or timezone.now()
    time_has_come = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return (Job.objects.filter(time_has_come & _free(now), status__in=ACTIVE)
            .order_by(F("next_attempt_at").asc(nulls_first=True), "pk"))


def advance_jobs(limit: int = BATCH) -> int:
    """Every job whose time has come; returns how many were advanced (bounded per call)."""
    advanced = 0
    for job_id in list(due().values_list("pk", flat=True)[:limit]):
        try:
            outcome = advance_job(job_id, force=False)
        except Exception:  # one job's bug must not stop the queue; it is looked at again next time
            logger.exception("Advancing job %s failed", job_id)
            continue
        advanced += outcome not in ("busy", "not_due")
    return advanced
