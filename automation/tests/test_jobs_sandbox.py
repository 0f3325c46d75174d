"""The queue against the sandbox clouds over loopback HTTP: a preempted spot attempt is retried on
the next best offer, and the preempted instance is deleted."""

import pytest

from automation.jobqueue.placement import candidates
from automation.models import JobStatus
from automation.services.jobs import job_cancel
from automation.tests.factories_jobs import drive_deployment, run_until, submit
from deployments.models import Deployment, DesiredState, Status
from deployments.tests.test_lifecycle_sandbox import connected  # noqa: F401  (sandbox accounts, offers refreshed)
from pricing.models import Offer


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
