"""The 10-second budget check: one `budget_warning` at the warning percentage and one
`budget_reached` at 100% per period, however often and however many workers check; a new day or
month warns again; a raised limit is enforced again."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from automation.autopilot import lanes
from automation.models import AutomationEvent, Budget, BudgetPeriod, EventType
from automation.selectors.spend import progress_of, scope_figures
from automation.services import budgets
from automation.services.budgets import budget_update, check_budgets
from automation.tests.concurrency import run_concurrently
from automation.tests.factories_budgets import NOW, budget_for
from deployments.tests.factories import DeploymentFactory

UTC = dt_timezone.utc


@pytest.fixture
def deployment(team):
    """$10 an hour, running since NOW: $1 every 6 minutes."""
    return DeploymentFactory(workspace=team["workspace"], price_per_hour=10.0, running_since=NOW)


def _events(type_=None):
    rows = AutomationEvent.objects.filter(type__in=[EventType.BUDGET_WARNING, EventType.BUDGET_REACHED])
    return list(rows.filter(type=type_) if type_ else rows)


def test_the_autopilot_sees_a_crossing_within_10_seconds():
    """Detection is part of the cap's 60 s to a stop (a killed worker's takeover comes on top)."""
    [job] = [job for jobs in lanes().values() for job in jobs if job.name == "budgets"]
    assert job.interval_s <= 10


def test_the_warning_comes_once_at_80_percent(team, deployment):
    budget = budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")
    assert check_budgets(now=NOW + timedelta(minutes=47)) == 0  # $7.83
    for minute in (48, 49, 50, 55):  # $8.00 … $9.17: repeated checks say nothing new
        check_budgets(now=NOW + timedelta(minutes=minute))
    [warning] = _events()
    assert warning.type == EventType.BUDGET_WARNING and warning.deployment == deployment
    assert warning.dedup_key == f"budget:{budget.pk}:total:warn"
    assert warning.data == {"budget_id": budget.pk, "period": "total", "period_key": "total",
                            "spent_usd": pytest.approx(8.0), "limit_usd": 10.0, "percent": pytest.approx(80.0)}


def test_the_cap_is_announced_once_at_100_percent(team, deployment):
    budget = budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")
    check_budgets(now=NOW + timedelta(minutes=50))
    assert check_budgets(now=NOW + timedelta(minutes=60)) == 1
    for minute in (61, 70, 120):
        assert check_budgets(now=NOW + timedelta(minutes=minute)) == 0
    [reached] = _events(EventType.BUDGET_REACHED)
    assert reached.dedup_key == f"budget:{budget.pk}:total:reached" and reached.data["percent"] == pytest.approx(100)
    assert "Budget reached: $10.00 of $10.00" in reached.summary
    budget.refresh_from_db()
    assert budget.reached_period == "total" and budget.reached_at == NOW + timedelta(minutes=60)


def test_a_jump_past_the_limit_announces_the_cap_only(team, deployment):
    budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")
    check_budgets(now=NOW + timedelta(minutes=90))
    assert [event.type for event in _events()] == [EventType.BUDGET_REACHED]


def test_two_workers_that_read_the_same_crossing_announce_it_once(team, deployment):
    budget = budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")
    later = NOW + timedelta(minutes=50)
    per_deployment, _ = scope_figures(team["workspace"], later)
    first = progress_of(budget, per_deployment[deployment.pk], later)
    second = progress_of(Budget.objects.get(pk=budget.pk), per_deployment[deployment.pk], later)
    assert budgets._announce(first, later) == 1
    assert budgets._announce(second, later) == 0  # lost the conditional UPDATE: emits nothing
    assert len(_events()) == 1


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_checkers_announce_each_crossing_once(team, deployment):
    budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")

    def checker():
        for minute in (48, 52, 60, 65):
            check_budgets(now=NOW + timedelta(minutes=minute))

    _, errors = run_concurrently(checker, 3)
    assert errors == []
    assert sorted(event.type for event in _events()) == [EventType.BUDGET_REACHED, EventType.BUDGET_WARNING]


def test_a_daily_budget_warns_and_caps_again_the_next_day(team):
    deployment = DeploymentFactory(workspace=team["workspace"], price_per_hour=1.0,
                                   running_since=datetime(2026, 3, 15, 0, 0, tzinfo=UTC))
    budget = budget_for(team["workspace"], deployment=deployment, period=BudgetPeriod.DAY, limit_usd="10.00")
    check_budgets(now=datetime(2026, 3, 15, 8, 30, tzinfo=UTC))
    check_budgets(now=datetime(2026, 3, 15, 11, 0, tzinfo=UTC))
    check_budgets(now=datetime(2026, 3, 16, 8, 30, tzinfo=UTC))  # a new day: $8.50 today
    keys = [event.dedup_key for event in _events()]
    assert keys == [f"budget:{budget.pk}:2026-03-15:warn", f"budget:{budget.pk}:2026-03-15:reached",
                    f"budget:{budget.pk}:2026-03-16:warn"]


def test_a_monthly_workspace_budget_sums_deployments_and_starts_over_each_month(team):
    workspace = team["workspace"]
    for _ in range(2):
        DeploymentFactory(workspace=workspace, price_per_hour=1.0, running_since=datetime(2026, 3, 31, 0, 0, tzinfo=UTC))
    budget = budget_for(workspace, limit_usd="40.00")
    check_budgets(now=datetime(2026, 3, 31, 16, 0, tzinfo=UTC))  # 2 × $16 = 80%
    check_budgets(now=datetime(2026, 4, 1, 16, 0, tzinfo=UTC))  # April: 2 × $16 again
    warnings = _events(EventType.BUDGET_WARNING)
    assert [event.data["period_key"] for event in warnings] == ["2026-03", "2026-04"]
    assert all(event.deployment is None for event in warnings)
    assert warnings[0].dedup_key == f"budget:{budget.pk}:2026-03:warn"


def test_a_raised_limit_is_enforced_again_in_the_same_period(team, deployment):
    budget = budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")
    check_budgets(now=NOW + timedelta(minutes=60))
    budget_update(budget=budget, user=team["admin"], limit_usd="20.00")
    assert check_budgets(now=NOW + timedelta(minutes=90)) == 0  # $15 of $20: below the warning
    check_budgets(now=NOW + timedelta(minutes=120))
    reached = _events(EventType.BUDGET_REACHED)
    assert [event.dedup_key for event in reached] == [f"budget:{budget.pk}:total:reached",
                                                      f"budget:{budget.pk}:total:reached:2"]
    assert reached[-1].data["limit_usd"] == 20.0


def test_a_disabled_budget_says_nothing(team, deployment):
    budget_for(team["workspace"], deployment=deployment, limit_usd="1.00", enabled=False)
    assert check_budgets(now=NOW + timedelta(hours=5)) == 0 and _events() == []
