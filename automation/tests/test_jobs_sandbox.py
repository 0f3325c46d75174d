"""The queue against the sandbox clouds over loopback HTTP: a preempted spot attempt is retried on
the next best offer, and the preempted instance is deleted; a job whose command ends on a cloud
succeeds or fails by the exit code its wrapped command printed last, with its logs kept."""

import pytest

from automation.jobqueue.marker import wrap_command
from automation.jobqueue.placement import candidates
from automation.models import AutomationEvent, EventType, JobStatus
from automation.services.jobs import job_cancel
from automation.tests.factories_jobs import drive_deployment, run_until, status_in, submit
from deployments.logs import log_lines_after
from deployments.models import Deployment, DesiredState, Status
from deployments.tests.test_lifecycle_sandbox import connected  # noqa: F401  (sandbox accounts, offers refreshed)
from pricing.models import Offer
from providers.adapters.runpod import RunPodAdapter
from providers.adapters.sse import Bounds
from providers.adapters.vast import VastAdapter

FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
ENDS_AFTER = {"SANDBOX_EXIT_AFTER_S": "0.6"}  # the sandbox container's command ends 0.6 s after it starts


@pytest.fixture
def spot_only_a100(connected):  # noqa: F811
    """Only spot A100 80GB offers, so the job's first choice is a spot instance."""
    Offer.objects.filter(workspace=connected, gpu_model="a100-80gb", spot=False).delete()
    return connected


def test_a_preempted_spot_attempt_is_retried_on_the_next_best_offer(spot_only_a100, team, sandbox):
    job = submit(team, command=["python", "train.py"], gpu_model="a100-80gb", max_price_per_hour=0.75,
                 allow_spot=True, max_retries=2, providers=["vast", "runpod"])
    first_choice, second_choice = candidates(job)[:2]
    run_until(job, lambda j: j.status == JobStatus.RUNNING)
    first = job.deployment
    assert (first.provider, first.offer_id, first.spot) == (first_choice.credential.provider, first_choice.offer_id, True)

    sandbox.clouds[first.provider].faults.preempt_spot = True
    run_until(job, lambda j: j.attempt_rows.filter(number=1, outcome="preempted").exists())
    sandbox.clouds[first.provider].faults.preempt_spot = False
    run_until(job, lambda j: j.attempts == 2 and j.status == JobStatus.RUNNING)

    second = job.deployment
    assert (second.provider, second.offer_id) == (second_choice.credential.provider, second_choice.offer_id)
    assert second.pk != first.pk and second.price_per_hour >= first.price_per_hour
    assert Deployment.objects.get(pk=first.pk).desired_state == DesiredState.DELETED
    assert drive_deployment(first.pk, lambda d: d.status == Status.TERMINATED)

    job_cancel(job=job, user=team["developer"])
    run_until(job, lambda j: j.status == JobStatus.CANCELLED)
    assert drive_deployment(second.pk, lambda d: d.status == Status.TERMINATED)


@pytest.fixture
def quick_logs(connected, sandbox, monkeypatch):  # noqa: F811
    """Containers that print often, log files uploaded at once, log streams read briefly."""
    for kind in ("runpod", "vast"):
        monkeypatch.setattr(sandbox.clouds[kind], "log_every_s", 0.2)
    monkeypatch.setattr(sandbox.clouds["vast"], "log_upload_s", 0.0)
    monkeypatch.setattr(RunPodAdapter, "sse_bounds", Bounds(idle_s=0.2, total_s=5.0))
    monkeypatch.setattr(VastAdapter, "log_poll_s", 0.05)
    return connected


def logged(deployment_id) -> list[str]:
    return [text for _, text in log_lines_after(deployment=Deployment.objects.get(pk=deployment_id), after_seq=0)]


@pytest.mark.parametrize("kind", ["runpod", "vast"])
def test_a_job_whose_command_ends_on_a_cloud_succeeds_with_exit_code_0_and_its_logs(quick_logs, team, kind):
    job = submit(team, command=["python", "train.py"], providers=[kind], allow_spot=False, max_retries=0,
                 env=ENDS_AFTER)
    run_until(job, status_in(*FINISHED))

    assert (job.status, job.exit_code, job.attempts) == (JobStatus.SUCCEEDED, 0, 1)
    attempt = job.attempt_rows.get()
    assert (attempt.provider, attempt.outcome, attempt.exit_code) == (kind, "succeeded", 0)
    deployment = Deployment.objects.get(pk=attempt.deployment_id)
    assert deployment.command == wrap_command(["python", "train.py"])
    lines = logged(deployment.pk)
    assert lines[0] == "[sandbox] container started from python:3.12-slim (run 1)" and "working: step 1" in lines
    assert lines[-1] == "[computehub] exit code 0"
    assert deployment.desired_state == DesiredState.DELETED
    assert drive_deployment(deployment.pk, lambda d: d.status == Status.TERMINATED)


def test_a_job_exiting_3_fails_is_retried_on_the_next_offer_and_records_code_3(quick_logs, team):
    job = submit(team, command=["python", "train.py"], providers=["vast"], allow_spot=False, max_retries=1,
                 env=ENDS_AFTER | {"SANDBOX_EXIT_CODE": "3"})
    first_choice, second_choice = candidates(job)[:2]
    run_until(job, status_in(*FINISHED))

    assert (job.status, job.exit_code, job.attempts) == (JobStatus.FAILED, 3, 2)
    attempts = list(job.attempt_rows.order_by("number"))
    assert [(a.outcome, a.exit_code) for a in attempts] == [("failed", 3), ("failed", 3)]
    assert [a.offer_id for a in attempts] == [first_choice.offer_id, second_choice.offer_id]
    assert all(logged(a.deployment_id)[-1] == "[computehub] exit code 3" for a in attempts)
    failed = AutomationEvent.objects.get(type=EventType.FAILED, data__job_id=job.pk)
    assert "exit code 3" in failed.summary


def test_without_its_exit_line_an_exited_container_fails_with_no_exit_code(quick_logs, team, sandbox,
                                                                          monkeypatch):
    monkeypatch.setattr(sandbox.clouds["vast"], "log_upload_s", 3600.0)  # the log file never arrives
    monkeypatch.setattr(VastAdapter, "log_polls", 2)
    job = submit(team, command=["python", "train.py"], providers=["vast"], allow_spot=False, max_retries=0,
                 env=ENDS_AFTER)
    run_until(job, status_in(*FINISHED))

    assert (job.status, job.exit_code) == (JobStatus.FAILED, None)
    attempt = job.attempt_rows.get()
    assert (attempt.outcome, attempt.exit_code) == ("failed", None) and "exited" in attempt.detail
