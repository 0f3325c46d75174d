"""The job's side of a deployment's timeline: every queue decision on an attempt is an automation
event there (the timeline is the audit log), tagged with the job so it can be traced back."""

from deployments.models import EventKind
from deployments.services import event_record


def note(job, deployment, message: str, **data) -> None:
    if deployment is None:
        return
    event_record(deployment=deployment, kind=EventKind.AUTOMATION, message=f"Batch job {job.name}: {message}",
                 data={"job_id": job.pk, **data})
