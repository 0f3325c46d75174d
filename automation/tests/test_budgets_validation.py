"""Budget input: a clear error on the field at fault, and nothing stored half-valid."""

from decimal import Decimal

import pytest

from automation.models import Budget, BudgetPeriod
from automation.services.budgets import budget_create, budget_delete, budget_update
from computehub.errors import ApplicationError
from deployments.tests.factories import DeploymentFactory


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"])


def _refused(**kwargs) -> dict:
    with pytest.raises(ApplicationError) as refused:
        budget_create(**kwargs)
    assert refused.value.code == "validation_error" and refused.value.status == 400
    assert Budget.objects.count() == 0
    return refused.value.fields


@pytest.mark.parametrize("limit", [0, -5, "0.00", "0.001", "NaN", float("nan"), "inf", float("-inf"),
                                   "1e12", 10**20, "ten", "", None, True])
def test_a_limit_that_is_not_a_positive_amount_is_refused(team, deployment, limit):
    fields = _refused(workspace=team["workspace"], user=team["admin"], deployment=deployment,
                      period=BudgetPeriod.TOTAL, limit_usd=limit)
    assert list(fields) == ["limit_usd"]


@pytest.mark.parametrize("period", [BudgetPeriod.MONTH, "week", ""])
def test_a_deployment_budget_is_in_total_or_per_day(team, deployment, period):
    fields = _refused(workspace=team["workspace"], user=team["admin"], deployment=deployment, period=period,
                      limit_usd=50)
    assert fields == {"period": ["A deployment budget is either in total or per day."]}


@pytest.mark.parametrize("period", [BudgetPeriod.TOTAL, BudgetPeriod.DAY])
def test_a_workspace_budget_is_per_month(team, period):
    fields = _refused(workspace=team["workspace"], user=team["admin"], period=period, limit_usd=50)
    assert fields == {"period": ["A workspace budget is per month."]}


@pytest.mark.parametrize("percent", [0, 100, 150, -1, 79.5, "many", True])
def test_the_warning_is_a_whole_percentage_below_100(team, percent):
    fields = _refused(workspace=team["workspace"], user=team["admin"], period=BudgetPeriod.MONTH, limit_usd=50,
                      warn_percent=percent)
    assert list(fields) == ["warn_percent"]


def test_another_workspaces_deployment_is_refused_like_a_missing_one(team, other_team):
    foreign = DeploymentFactory(workspace=other_team["workspace"])
    for value in (foreign, foreign.pk, "not-a-uuid"):
        fields = _refused(workspace=team["workspace"], user=team["admin"], deployment=value,
                          period=BudgetPeriod.TOTAL, limit_usd=50)
        assert fields == {"deployment": ["Choose a deployment of this workspace."]}


def test_every_bad_field_is_named_at_once(team):
    fields = _refused(workspace=team["workspace"], user=team["admin"], period=BudgetPeriod.DAY, limit_usd=-1,
                      warn_percent=0)
    assert set(fields) == {"period", "limit_usd", "warn_percent"}


def test_a_valid_budget_is_stored_in_cents(team, deployment):
    budget = budget_create(workspace=team["workspace"], user=team["admin"], deployment=str(deployment.pk),
                           period=BudgetPeriod.DAY, limit_usd="12.345", warn_percent="75")
    budget.refresh_from_db()
    assert (budget.deployment, budget.period, budget.limit_usd, budget.warn_percent, budget.created_by) == (
        deployment, "day", Decimal("12.35"), 75, team["admin"])


def test_a_refused_change_leaves_the_budget_as_it_was(team, deployment):
    budget = budget_create(workspace=team["workspace"], user=team["admin"], period=BudgetPeriod.MONTH, limit_usd=50)
    for changes in ({"limit_usd": 0}, {"limit_usd": 100, "period": "day"}, {"deployment": deployment.pk},
                    {"enabled": "no", "limit_usd": 100}):
        with pytest.raises(ApplicationError):
            budget_update(budget=budget, user=team["admin"], **changes)
    budget.refresh_from_db()
    assert (budget.period, budget.limit_usd) == ("month", Decimal("50.00"))
    budget_update(budget=budget, user=team["admin"], limit_usd=75, enabled=False)
    budget.refresh_from_db()
    assert (budget.limit_usd, budget.enabled) == (Decimal("75.00"), False)
    budget_delete(budget=budget, user=team["admin"])
    assert not Budget.objects.exists()
