"""Where the queue places a job: the cheapest fitting offer across providers, never one above the
job's ceiling, spot only when allowed, the next best offer on a retry, and only with room in the
workspace's monthly budget."""

from decimal import Decimal

import pytest
from django.utils import timezone

from automation.jobqueue import advance_job
from automation.jobqueue.placement import candidates
from automation.models import Budget, BudgetPeriod, JobAttempt, JobStatus
from automation.tests.factories_jobs import submit
from deployments.tests.factories import CredentialFactory
from deployments.models import Deployment
from pricing.models import Offer


def _offer(workspace, credential, price, *, gpu="rtx-4090", count=1, vram=24, spot=False, offer_id=None):
    return Offer.objects.create(
        workspace=workspace, credential=credential, provider=credential.provider, offer_id=offer_id or f"o-{price}-{spot}",
        gpu_model=gpu, gpu_name=gpu.upper(), gpu_count=count, vram_gb=vram, price_per_hour=price,
        price_per_gpu_hour=price / count, spot=spot, min_bid_per_hour=price if spot else None, available=3,
        fetched_at=timezone.now())


@pytest.fixture
def market(team):
    """Two clouds selling RTX 4090s (and an A100) at known prices."""
    workspace = team["workspace"]
    runpod = CredentialFactory(workspace=workspace, provider="runpod")
    vast = CredentialFactory(workspace=workspace, provider="vast")
    return {
        "runpod_044": _offer(workspace, runpod, 0.44),
        "vast_035": _offer(workspace, vast, 0.35),
        "vast_spot_020": _offer(workspace, vast, 0.20, spot=True),
        "runpod_060": _offer(workspace, runpod, 0.60),
        "a100_010": _offer(workspace, runpod, 0.10, gpu="a100-80gb", vram=80),
        "two_gpu_030": _offer(workspace, vast, 0.30, count=2, offer_id="two"),
    }


def _job(team, **overrides):
    data = {"command": ["python", "train.py"], "gpu_model": "rtx-4090", "max_price_per_hour": 0.5,
            "allow_spot": False} | overrides
    return submit(team, **data)


def test_the_cheapest_fitting_offer_is_chosen_and_none_above_the_ceiling(team, market):
    job = _job(team)
    assert [c.price_per_hour for c in candidates(job)] == [0.30, 0.35, 0.44]  # 0.60 is above $0.50/h

    assert advance_job(job.pk) == "placed"
    job.refresh_from_db()
    assert job.status == JobStatus.PLACING and job.attempts == 1
    deployment = job.deployment
    assert (deployment.provider, deployment.offer_id, deployment.price_per_hour) == ("vast", "two", 0.30)
    assert not deployment.spot and deployment.gpu_model == "rtx-4090"


def test_gpu_count_and_spot_choice_narrow_the_offers(team, market):
    assert [c.price_per_hour for c in candidates(_job(team, min_gpus=2))] == [0.30]
    spot_ok = _job(team, allow_spot=True)
    assert advance_job(spot_ok.pk) == "placed"
    spot_ok.refresh_from_db()
    assert spot_ok.deployment.spot and spot_ok.deployment.bid_per_hour == 0.20


def test_a_retry_prefers_an_offer_the_job_has_not_tried(team, market):
    job = _job(team, min_gpus=1)
    JobAttempt.objects.create(job=job, number=1, provider="vast", offer_id="two", price_per_hour=0.30,
                              outcome="preempted")
    assert [c.price_per_hour for c in candidates(job)] == [0.35, 0.44, 0.30]  # the tried one only as a last resort


def test_no_fitting_offer_keeps_the_job_queued_with_the_reason(team, market):
    job = _job(team, gpu_model="h100-sxm")
    assert advance_job(job.pk) == "waiting"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.deployment_id is None
    assert "no 1× h100-sxm at or below $0.50/h" in job.last_error and job.next_attempt_at > timezone.now()


def test_a_job_over_the_workspace_budget_stays_queued_with_the_reason(team, market):
    Budget.objects.create(workspace=team["workspace"], period=BudgetPeriod.MONTH, limit_usd=Decimal("1.00"))
    job = _job(team, max_runtime_s=4 * 3600)  # 4 h at $0.30/h: up to $1.20

    assert advance_job(job.pk) == "waiting"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.deployment_id is None and not job.attempt_rows.exists()
    assert "budget" in job.last_error and "$1.20" in job.last_error and "$1.00 monthly budget" in job.last_error

    short = _job(team, max_runtime_s=3 * 3600)  # $0.90 fits
    assert advance_job(short.pk) == "placed"


def test_what_the_workspace_already_spent_this_month_counts(team, market):
    from automation.models import SpendDay
    from deployments.tests.factories import DeploymentFactory

    Budget.objects.create(workspace=team["workspace"], period=BudgetPeriod.MONTH, limit_usd=Decimal("1.00"))
    spender = DeploymentFactory(workspace=team["workspace"], status="stopped")
    SpendDay.objects.create(workspace=team["workspace"], deployment=spender, day=timezone.now().date(), usd=0.8)
    job = _job(team, max_runtime_s=3600)  # $0.30 more would pass $1.00
    assert advance_job(job.pk) == "waiting"
    job.refresh_from_db()
    assert "spent $0.80" in job.last_error


def test_placed_jobs_count_against_the_budget_of_the_next(team, market):
    Budget.objects.create(workspace=team["workspace"], period=BudgetPeriod.MONTH, limit_usd=Decimal("1.00"))
    first, second = _job(team, max_runtime_s=2 * 3600), _job(team, max_runtime_s=2 * 3600)  # $0.60 each
    assert advance_job(first.pk) == "placed"
    assert advance_job(second.pk) == "waiting"


def test_a_job_held_by_another_worker_is_not_touched(team, market):
    job = _job(team)
    type(job).objects.filter(pk=job.pk).update(lease_owner="other-worker", lease_until=timezone.now().replace(year=2999))
    assert advance_job(job.pk) == "busy"
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.deployment_id is None


def test_a_refused_launch_counts_as_an_attempt_and_the_next_goes_elsewhere(team, market, settings):
    settings.COMPUTEHUB_SSH_PUBLIC_KEY = ""  # TensorDock refuses launches without one
    tensordock = CredentialFactory(workspace=team["workspace"], provider="tensordock")
    _offer(team["workspace"], tensordock, 0.10)
    job = _job(team, max_retries=1)

    assert advance_job(job.pk) == "refused"
    job.refresh_from_db()
    refused = job.attempt_rows.get()
    assert (refused.provider, refused.outcome, refused.deployment_id) == ("tensordock", "failed", None)
    assert job.status == JobStatus.QUEUED and "SSH public key" in job.last_error

    assert advance_job(job.pk) == "placed"
    job.refresh_from_db()
    assert job.attempts == 2 and job.deployment.provider == "vast"


@pytest.mark.django_db(transaction=True)
def test_three_workers_at_once_place_each_job_exactly_once(team, market, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from automation.jobqueue import advance_jobs

    monkeypatch.setattr("deployments.tasks.async_task", lambda *args, **kwargs: None)  # no reconciles here
    jobs = [_job(team, name=f"job-{n}") for n in range(6)]

    def worker(_):
        try:
            return advance_jobs()
        finally:
            connection.close()

    with ThreadPoolExecutor(3) as pool:
        advanced = sum(pool.map(worker, range(3)))

    assert advanced >= len(jobs)
    for job in jobs:
        job.refresh_from_db()
        assert job.status == JobStatus.PLACING and job.attempts == 1
        assert job.attempt_rows.count() == 1
    assert Deployment.objects.filter(workspace=team["workspace"]).count() == len(jobs)
