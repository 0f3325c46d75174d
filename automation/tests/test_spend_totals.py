"""What a workspace and a deployment have spent today, this month and in total: the meter's
ledger plus the running time not yet accrued, so the figure is live between accruals."""

from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from automation.selectors.spend import spend_by_day, spend_totals
from automation.tests.factories_budgets import NOW
from deployments.models import Status
from deployments.services.spend import deployment_accrue_spend
from deployments.tests.factories import DeploymentFactory

UTC = dt_timezone.utc


def _running(workspace, price, since):
    return DeploymentFactory(workspace=workspace, price_per_hour=price, running_since=since)


def test_running_time_since_the_last_accrual_counts_live(team):
    deployment = _running(team["workspace"], 2.0, NOW - timedelta(hours=3))
    deployment_accrue_spend(deployment=deployment, now=NOW - timedelta(hours=1))  # $4 billed
    figures = spend_totals(workspace=team["workspace"], deployment=deployment, now=NOW)
    assert figures == {"today": pytest.approx(6.0), "month": pytest.approx(6.0), "total": pytest.approx(6.0)}
    later = spend_totals(workspace=team["workspace"], deployment=deployment, now=NOW + timedelta(minutes=30))
    assert later["total"] == pytest.approx(7.0)  # no accrual in between: the figure still moves


def test_an_accrual_changes_nothing_but_where_the_money_is_counted(team):
    deployment = _running(team["workspace"], 2.0, NOW - timedelta(hours=3))
    before = spend_totals(workspace=team["workspace"], deployment=deployment, now=NOW)
    deployment_accrue_spend(deployment=deployment, now=NOW)
    assert spend_totals(workspace=team["workspace"], deployment=deployment, now=NOW) == pytest.approx(before)


def test_today_month_and_total_are_separate_utc_periods(team):
    deployment = _running(team["workspace"], 1.0, datetime(2026, 2, 28, 12, 0, tzinfo=UTC))
    deployment_accrue_spend(deployment=deployment, now=datetime(2026, 3, 15, 0, 0, tzinfo=UTC))
    figures = spend_totals(workspace=team["workspace"], deployment=deployment, now=NOW)
    assert figures["today"] == pytest.approx(12)  # 00:00 → 12:00, all live
    assert figures["month"] == pytest.approx(14 * 24 + 12)  # March only
    assert figures["total"] == pytest.approx(12 + 14 * 24 + 12)  # plus the end of February


def test_live_time_across_midnight_counts_today_only_after_midnight(team):
    deployment = _running(team["workspace"], 1.0, datetime(2026, 3, 14, 23, 30, tzinfo=UTC))
    figures = spend_totals(workspace=team["workspace"], deployment=deployment,
                           now=datetime(2026, 3, 15, 0, 30, tzinfo=UTC))
    assert figures["today"] == pytest.approx(0.5) and figures["total"] == pytest.approx(1.0)


def test_the_workspace_sums_its_deployments_and_a_stopped_one_is_frozen(team, other_team):
    running = _running(team["workspace"], 1.0, NOW - timedelta(hours=2))
    stopped = DeploymentFactory(workspace=team["workspace"], price_per_hour=3.0, status=Status.STOPPED,
                                spend_usd=3.0, spend_accrued_at=NOW - timedelta(hours=1))
    _running(other_team["workspace"], 100.0, NOW - timedelta(hours=2))  # never counted here
    later = NOW + timedelta(hours=1)
    assert spend_totals(workspace=team["workspace"], now=later)["total"] == pytest.approx(3.0 + 3.0)
    assert spend_totals(workspace=team["workspace"], deployment=running, now=later)["total"] == pytest.approx(3.0)


def test_spend_per_day_covers_the_last_30_days_with_today_live(team):
    deployment = _running(team["workspace"], 1.0, datetime(2026, 3, 13, 12, 0, tzinfo=UTC))
    deployment_accrue_spend(deployment=deployment, now=datetime(2026, 3, 14, 12, 0, tzinfo=UTC))
    days = spend_by_day(workspace=team["workspace"], now=NOW)
    assert len(days) == 30 and days[0][0] == date(2026, 2, 14) and days[-1][0] == date(2026, 3, 15)
    by_day = dict(days)
    assert by_day[date(2026, 3, 13)] == pytest.approx(12)
    assert by_day[date(2026, 3, 14)] == pytest.approx(24)  # 12 h billed + 12 h live
    assert by_day[date(2026, 3, 15)] == pytest.approx(12)
    assert by_day[date(2026, 3, 1)] == 0.0
