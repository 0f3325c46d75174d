"""`cost_threshold`: spend of a deployment or the workspace reaching the rule's amount, once per
period (total, UTC day, UTC month)."""

from datetime import UTC, datetime, timedelta

import pytest

from automation.models import AutomationEvent, EventType, SpendDay, Trigger
from automation.tests.factories_triggers import make_rule
from automation.triggers import cost
from automation.triggers.cost import evaluate_cost_rules
from deployments.models import Status
from deployments.tests.factories import DeploymentFactory

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture
def deployment(team):
    # Stopped: its meter does not move while the test runs, so spend is exactly what is written.
    return DeploymentFactory(workspace=team["workspace"], status=Status.STOPPED, spend_usd=0)


def _spend(deployment, usd, day=NOW.date()):
    SpendDay.objects.update_or_create(workspace=deployment.workspace, deployment=deployment, day=day,
                                      defaults={"usd": usd})
    type(deployment).objects.filter(pk=deployment.pk).update(
        spend_usd=sum(SpendDay.objects.filter(deployment=deployment).values_list("usd", flat=True)))


def _events():
    return list(AutomationEvent.objects.filter(type=EventType.COST_THRESHOLD).order_by("id"))


def test_total_spend_fires_once_when_it_reaches_the_amount(team, deployment):
    rule = make_rule(team["workspace"], Trigger.COST_THRESHOLD, {"usd": 10, "period": "total"}, deployment=deployment)
    _spend(deployment, 9.99)
    assert evaluate_cost_rules(now=NOW) == 0
    _spend(deployment, 10.0)
    assert evaluate_cost_rules(now=NOW) == 1
    _spend(deployment, 25.0)
    assert evaluate_cost_rules(now=NOW + timedelta(days=40)) == 0  # "total" has one period
    [event] = _events()
    assert event.deployment == deployment and event.data["rule_id"] == rule.pk
    assert event.data["period_key"] == "total" and event.data["spent_usd"] == pytest.approx(10.0)


def test_daily_threshold_fires_once_per_utc_day(team, deployment):
    make_rule(team["workspace"], Trigger.COST_THRESHOLD, {"usd": 5, "period": "day"}, deployment=deployment)
    _spend(deployment, 6.0)
    assert evaluate_cost_rules(now=NOW) == 1
    assert evaluate_cost_rules(now=NOW + timedelta(hours=3)) == 0
    tomorrow = NOW + timedelta(days=1)
    assert evaluate_cost_rules(now=tomorrow) == 0  # nothing spent yet that day
    _spend(deployment, 5.5, day=tomorrow.date())
    assert evaluate_cost_rules(now=tomorrow) == 1
    assert [event.data["period_key"] for event in _events()] == ["2026-11-29", "2026-11-30"]


def test_monthly_workspace_threshold_sums_every_deployment(team, other_team, deployment):
    make_rule(team["workspace"], Trigger.COST_THRESHOLD, {"usd": 100, "period": "month"})
    second = DeploymentFactory(workspace=team["workspace"], status=Status.STOPPED)
    stranger = DeploymentFactory(workspace=other_team["workspace"], status=Status.STOPPED)
    _spend(deployment, 60.0, day=NOW.date() - timedelta(days=3))
    _spend(stranger, 500.0)
    assert evaluate_cost_rules(now=NOW) == 0
    _spend(second, 45.0)
    assert evaluate_cost_rules(now=NOW) == 1
    assert evaluate_cost_rules(now=NOW) == 0
    [event] = _events()
    assert event.deployment is None and event.data["period_key"] == "2026-11"
    assert event.data["spent_usd"] == pytest.approx(105.0)


def test_without_the_spend_selector_the_deployments_meter_is_used(team, deployment, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "automation.selectors.spend", None)  # import fails
    rule = make_rule(team["workspace"], Trigger.COST_THRESHOLD, {"usd": 3, "period": "total"}, deployment=deployment)
    _spend(deployment, 4.0)
    assert cost.spend_for(rule, "total", NOW) == pytest.approx(4.0)
    assert cost.spend_for(rule, "day", NOW) == pytest.approx(4.0)
    assert evaluate_cost_rules(now=NOW) == 1
