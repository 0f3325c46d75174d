"""Helpers for the batch queue's tests: submit a job, and run the scheduler and the reconciler
together (as the autopilot and the sweep would) until the job reaches a status."""

import time

import pytest

from automation.jobqueue import advance_job
from automation.models import Job
from automation.services.jobs import job_submit
from deployments.reconciler import reconcile_deployment

BASE = {"name": "batch", "image": "python:3.12-slim", "max_price_per_hour": 5.0, "max_runtime_s": 600}


def submit(team, **data) -> Job:
    return job_submit(workspace=team["workspace"], user=team["developer"], data=BASE | data)


def step(job: Job) -> Job:
    """One scheduler step, then one reconcile of the attempt's deployment."""
    advance_job(job.pk)
    job.refresh_from_db()
    if job.deployment_id:
        reconcile_deployment(job.deployment_id)
    job.refresh_from_db()
    return job


def run_until(job: Job, until, *, steps=150, pause=0.05) -> Job:
    for _ in range(steps):
        step(job)
        if until(job):
            return job
        time.sleep(pause)
    pytest.fail(f"job stuck at {job.status} after {job.attempts} attempt(s): {job.last_error!r}")


def status_in(*statuses):
    return lambda job: job.status in statuses


def drive_deployment(deployment_id, until, *, steps=60, pause=0.05):
    from deployments.models import Deployment

    for _ in range(steps):
        reconcile_deployment(deployment_id)
        deployment = Deployment.objects.get(pk=deployment_id)
        if until(deployment):
            return deployment
        time.sleep(pause)
    pytest.fail(f"deployment stuck at {deployment.status} ({deployment.raw_status})")
