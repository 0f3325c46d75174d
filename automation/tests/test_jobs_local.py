"""The batch queue end to end on this machine: real processes, real exit codes."""

import psutil

from automation.models import AutomationEvent, EventType, JobStatus
from automation.services.jobs import job_cancel
from automation.tests.factories_jobs import drive_deployment, run_until, status_in, submit
from deployments.models import Deployment, DesiredState, Status
from deployments.reconciler.calls import provider_call
from deployments.tests.test_lifecycle_local import local  # noqa: F401  (the Local provider, connected)
from providers.adapters import InstanceStatus

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


def _gone(deployment_id) -> Deployment:
    return drive_deployment(deployment_id, lambda d: d.status == Status.TERMINATED)


def test_a_job_that_exits_0_succeeds_with_its_logs_kept_and_its_deployment_deleted(local, team, client_in):
    job = submit(team, command=["python", "-c", "print('hello'); raise SystemExit(0)"])
    run_until(job, status_in(*FINISHED))

    assert job.status == JobStatus.SUCCEEDED and job.exit_code == 0 and job.attempts == 1
    attempt = job.attempt_rows.get()
    assert attempt.outcome == "succeeded" and attempt.provider == "local" and attempt.exit_code == 0
    deployment = Deployment.objects.get(pk=attempt.deployment_id)
    assert deployment.desired_state == DesiredState.DELETED
    assert _gone(deployment.pk).status == Status.TERMINATED
    logs = client_in(team["viewer"], team["workspace"]).get(f"/deployments/{deployment.pk}/logs.txt")
    assert logs.status_code == 200 and "hello" in b"".join(logs.streaming_content).decode()
    event = AutomationEvent.objects.get(type=EventType.SUCCEEDED, data__job_id=job.pk)
    assert event.deployment_id == deployment.pk and event.data["job_id"] == job.pk


def test_a_failing_job_is_retried_then_fails_with_its_exit_code(local, team):
    job = submit(team, command=["python", "-c", "raise SystemExit(3)"], max_retries=1)
    run_until(job, status_in(*FINISHED))

    assert job.status == JobStatus.FAILED and job.exit_code == 3 and job.attempts == 2
    attempts = list(job.attempt_rows.all())
    assert [(a.number, a.outcome, a.exit_code) for a in attempts] == [(1, "failed", 3), (2, "failed", 3)]
    assert attempts[0].deployment_id != attempts[1].deployment_id
    for attempt in attempts:
        assert Deployment.objects.get(pk=attempt.deployment_id).desired_state == DesiredState.DELETED
    failed = AutomationEvent.objects.filter(type=EventType.FAILED, data__job_id=job.pk)
    assert failed.count() == 1 and "exit code 3" in failed.get().summary


def test_cancelling_a_running_job_deletes_its_instance(local, team):
    job = submit(team, command=["python", "-c", "import time; print('working', flush=True); time.sleep(60)"])
    run_until(job, status_in(JobStatus.RUNNING))
    deployment_id = job.deployment_id

    job_cancel(job=job, user=team["developer"])
    run_until(job, status_in(*FINISHED))

    assert job.status == JobStatus.CANCELLED and job.attempt_rows.get().outcome == "cancelled"
    deployment = _gone(deployment_id)
    assert deployment.desired_state == DesiredState.DELETED
    assert provider_call(local, "get_instance", deployment.instance_id).status == InstanceStatus.TERMINATED
    pid = int(deployment.raw_status.split()[-1])  # "running pid N", the last status it had
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not AutomationEvent.objects.filter(data__job_id=job.pk).exists()


def test_a_job_past_its_runtime_is_stopped_and_fails_as_timeout(local, team):
    job = submit(team, command=["python", "-c", "import time; time.sleep(60)"], max_runtime_s=60, max_retries=2)
    run_until(job, status_in(JobStatus.RUNNING))
    job.attempt_rows.update(started_at=job.attempt_rows.get().started_at.replace(year=2000))

    run_until(job, status_in(*FINISHED))
    assert job.status == JobStatus.FAILED and job.attempts == 1
    assert job.attempt_rows.get().outcome == "timeout" and "limit of 60 s" in job.last_error
    assert _gone(job.deployment_id).status == Status.TERMINATED


def test_a_queued_job_is_cancelled_at_once(local, team):
    job = submit(team, command=["python", "-c", "pass"])
    job = job_cancel(job=job, user=team["developer"])
    assert job.status == JobStatus.CANCELLED and job.deployment_id is None
