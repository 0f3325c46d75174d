"""The cost meter: price × time running, billed once however many workers look, frozen while
stopped and resumed from the same figure on start; the autopilot moves it every minute."""

import threading
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.utils import timezone

from automation.models import SpendDay

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


# --- the per-day ledger (automation.models.SpendDay) ------------------------------------------------

UTC = dt_timezone.utc


def _ledger(deployment) -> dict:
    return {row.day: row.usd for row in SpendDay.objects.filter(deployment=deployment)}


def test_each_accrual_lands_in_the_ledger_of_its_utc_day(running, hour_ago):
    deployment_accrue_spend(deployment=running, now=hour_ago + timedelta(minutes=30))
    deployment_accrue_spend(deployment=running, now=hour_ago + timedelta(minutes=30))  # nothing new
    ledger = _ledger(running)
    assert sum(ledger.values()) == pytest.approx(_spend(running)) == pytest.approx(PRICE / 2)
    assert set(SpendDay.objects.filter(deployment=running).values_list("workspace_id", flat=True)) == {
        running.workspace_id}


def test_an_interval_across_midnight_is_split_between_the_two_days(team):
    before_midnight = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    deployment = DeploymentFactory(workspace=team["workspace"], price_per_hour=PRICE, running_since=before_midnight)
    deployment_accrue_spend(deployment=deployment, now=datetime(2026, 3, 10, 1, 0, tzinfo=UTC))
    assert _ledger(deployment) == {date(2026, 3, 9): pytest.approx(PRICE / 2),
                                   date(2026, 3, 10): pytest.approx(PRICE)}


def test_a_long_gap_is_spread_over_every_day_it_covers(team):
    start = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    deployment = DeploymentFactory(workspace=team["workspace"], price_per_hour=1.0, running_since=start)
    deployment_accrue_spend(deployment=deployment, now=datetime(2026, 3, 11, 6, 0, tzinfo=UTC))
    assert _ledger(deployment) == {date(2026, 3, 9): pytest.approx(12), date(2026, 3, 10): pytest.approx(24),
                                   date(2026, 3, 11): pytest.approx(6)}
    assert _spend(deployment) == pytest.approx(42)


def test_two_workers_racing_write_the_ledger_once(running, hour_ago):
    now = hour_ago + timedelta(hours=1)
    first, second = spend._fresh(running.pk), spend._fresh(running.pk)
    spend._accrue_once(first, now)
    assert spend._accrue_once(second, now) is None  # the loser writes neither meter nor ledger
    assert sum(_ledger(running).values()) == pytest.approx(PRICE) == pytest.approx(_spend(running))


@pytest.mark.django_db(transaction=True)
def test_concurrent_meters_keep_ledger_and_figure_equal(team):
    deployment = DeploymentFactory(workspace=team["workspace"], price_per_hour=PRICE,
                                   running_since=timezone.now() - timedelta(hours=2))
    ticks = [deployment.running_since + timedelta(minutes=n) for n in range(1, 61)]
    errors = []

    def worker():
        try:
            for tick in ticks:
                deployment_accrue_spend(deployment=deployment, now=tick)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _spend(deployment) == pytest.approx(PRICE)  # one hour, billed once
    assert sum(_ledger(deployment).values()) == pytest.approx(PRICE)
