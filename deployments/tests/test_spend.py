"""The cost meter: price × time running, billed once however many workers look, frozen while
stopped and resumed from the same figure on start; the autopilot moves it every minute."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.management.commands.autopilot import default_jobs
from deployments.models import Status
from deployments.reconciler import state
from deployments.services import spend
from deployments.services.spend import accrue_running_spend, deployment_accrue_spend
from deployments.tests.factories import DeploymentFactory

PRICE = 0.44


@pytest.fixture
def hour_ago():
    return timezone.now() - timedelta(hours=1)


@pytest.fixture
def running(team, hour_ago):
    return DeploymentFactory(workspace=team["workspace"], price_per_hour=PRICE, running_since=hour_ago)


def _spend(deployment) -> float:
    deployment.refresh_from_db()
    return deployment.spend_usd


def test_an_hour_running_costs_the_hourly_price(running, hour_ago):
    now = hour_ago + timedelta(hours=1)
    assert deployment_accrue_spend(deployment=running, now=now) == pytest.approx(PRICE)
    assert deployment_accrue_spend(deployment=running, now=now + timedelta(minutes=30)) == pytest.approx(PRICE / 2)
    assert _spend(running) == pytest.approx(PRICE * 1.5) and running.spend_accrued_at == now + timedelta(minutes=30)


def test_two_workers_accruing_at_once_count_the_interval_once(running, hour_ago):
    now = hour_ago + timedelta(hours=1)
    first, second = spend._fresh(running.pk), spend._fresh(running.pk)  # both read before either writes
    assert spend._accrue_once(first, now) == pytest.approx(PRICE)
    assert spend._accrue_once(second, now) is None  # lost the race: writes nothing
    assert deployment_accrue_spend(deployment=running, now=now) == 0.0  # re-read: nothing left to bill
    assert _spend(running) == pytest.approx(PRICE)


def test_stop_freezes_the_figure_and_start_resumes_from_it(running):
    state.set_status(running, Status.STOPPING)  # leaving running bills up to this moment
    frozen = _spend(running)
    assert frozen == pytest.approx(PRICE, rel=0.01)
    state.set_status(running, Status.STOPPED)
    assert deployment_accrue_spend(deployment=running, now=timezone.now() + timedelta(hours=5)) == 0.0
    assert accrue_running_spend(now=timezone.now() + timedelta(hours=5)) == 0
    assert _spend(running) == frozen

    state.set_status(running, Status.RUNNING)  # the stopped hours are not billed
    later = running.running_since + timedelta(hours=2)
    assert accrue_running_spend(now=later) == 1
    assert _spend(running) == pytest.approx(frozen + 2 * PRICE)


def test_the_autopilot_runs_the_meter_every_minute():
    jobs = {job.name: job for job in default_jobs()}
    assert jobs["spend"].interval_s == 60 and jobs["spend"].run is accrue_running_spend
