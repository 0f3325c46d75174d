"""The batch job queue's scheduler: place queued jobs on the cheapest fitting offer, watch them
to completion, retry on the next best offer, respect the workspace budget."""

from automation.jobqueue.scheduler import advance_job, advance_jobs

__all__ = ["advance_job", "advance_jobs"]
