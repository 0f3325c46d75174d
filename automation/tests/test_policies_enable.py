"""Built-in policies: one click makes ordinary, valid rules; again updates them; off removes them."""

import pytest

from automation.models import Budget, HealthCheck, Rule
from automation.policies import POLICIES, policies_state, policy_disable, policy_enable
from automation.services.rules import rule_validate
from computehub.errors import ApplicationError
from deployments.tests.factories import DeploymentFactory

PARAMS = {"cost_cap": {"limit_usd": 50}}


def _enable(team, slug, deployment=None, params=None):
    return policy_enable(workspace=team["workspace"], user=team["developer"], slug=slug, deployment=deployment,
                         params=params if params is not None else PARAMS.get(slug))


@pytest.mark.parametrize("slug", list(POLICIES))
def test_each_policy_makes_rules_that_pass_validation(team, slug):
    deployment = DeploymentFactory(workspace=team["workspace"], spot=True, bid_per_hour=0.3)
    rules = _enable(team, slug, deployment)
    assert rules and all(rule.policy == slug and rule.deployment == deployment for rule in rules)
    for rule in rules:
        fields = {name: getattr(rule, name) for name in ("name", "trigger", "trigger_params", "conditions", "actions",
                                                         "escalation", "cooldown_s", "max_per_hour", "policy")}
        rule_validate(workspace=team["workspace"], data=fields)
    assert policies_state(workspace=team["workspace"], deployment=deployment)[slug] is True
    assert policies_state(workspace=team["workspace"])[slug] is False


@pytest.mark.parametrize("slug", list(POLICIES))
def test_enabling_twice_keeps_one_set_of_rules_and_disable_removes_them(team, slug):
    deployment = DeploymentFactory(workspace=team["workspace"])
    first = _enable(team, slug, deployment)
    second = _enable(team, slug, deployment)
    assert [r.pk for r in first] == [r.pk for r in second]
    assert policy_disable(workspace=team["workspace"], user=team["developer"], slug=slug,
                          deployment=deployment) == len(first)
    assert not Rule.objects.filter(policy=slug).exists()
    assert policies_state(workspace=team["workspace"], deployment=deployment)[slug] is False


def test_re_enabling_updates_the_parameters(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    _enable(team, "idle_shutdown", deployment)
    [rule] = _enable(team, "idle_shutdown", deployment, {"threshold_percent": 10, "minutes": 15})
    assert rule.trigger_params == {"threshold_percent": 10, "minutes": 15}
    assert Rule.objects.filter(policy="idle_shutdown").count() == 1


def test_auto_restart_escalates_to_failover_only_where_failover_is_on(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    [restart] = _enable(team, "auto_restart", deployment)
    assert (restart.trigger, restart.actions, restart.max_per_hour) == ("down", [{"type": "restart"}], 3)
    assert restart.escalation == [{"type": "stop"}]
    _enable(team, "failover")  # workspace-wide failover covers the deployment
    restart.refresh_from_db()
    assert restart.escalation == [{"type": "failover"}]
    policy_disable(workspace=team["workspace"], user=team["developer"], slug="failover")
    restart.refresh_from_db()
    assert restart.escalation == [{"type": "stop"}]


def test_cost_cap_creates_the_budget_and_a_budget_rule(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    [rule] = _enable(team, "cost_cap", deployment, {"limit_usd": 25, "period": "day", "action": "delete"})
    budget = Budget.objects.get(pk=rule.trigger_params["budget_id"])
    assert (budget.deployment, budget.period, float(budget.limit_usd)) == (deployment, "day", 25.0)
    assert rule.actions == [{"type": "delete"}]
    _enable(team, "cost_cap", deployment, {"limit_usd": 30, "period": "day"})
    budget.refresh_from_db()
    assert float(budget.limit_usd) == 30.0 and Budget.objects.count() == 1
    policy_disable(workspace=team["workspace"], user=team["developer"], slug="cost_cap", deployment=deployment)
    assert not Budget.objects.exists()


@pytest.mark.parametrize("params, deployment_scope", [
    ({"limit_usd": 0}, True), ({"limit_usd": -1}, True), ({}, True), ({"limit_usd": 5, "period": "month"}, True),
    ({"limit_usd": 5, "period": "day"}, False), ({"limit_usd": 5, "action": "explode"}, True),
])
def test_cost_cap_refuses_bad_budgets_and_stores_nothing(team, params, deployment_scope):
    deployment = DeploymentFactory(workspace=team["workspace"]) if deployment_scope else None
    with pytest.raises(ApplicationError) as caught:
        _enable(team, "cost_cap", deployment, params)
    assert "params" in caught.value.fields
    assert not Budget.objects.exists() and not Rule.objects.exists()


def test_workspace_cost_cap_is_monthly(team):
    [rule] = _enable(team, "cost_cap", None, {"limit_usd": 500})
    assert Budget.objects.get(pk=rule.trigger_params["budget_id"]).period == "month"
    assert rule.deployment is None


def test_price_migration_marks_the_deployment_migratable(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    [rule] = _enable(team, "price_migration", deployment)
    assert rule.trigger_params == {"min_saving_percent": 20, "minutes": 30}
    assert rule.actions == [{"type": "migrate", "min_saving_percent": 20}]
    assert HealthCheck.objects.get(deployment=deployment).migratable is True
    policy_disable(workspace=team["workspace"], user=team["developer"], slug="price_migration", deployment=deployment)
    assert HealthCheck.objects.get(deployment=deployment).migratable is False


def test_spot_refill_bids_up_to_twice_the_current_bid(team):
    deployment = DeploymentFactory(workspace=team["workspace"], spot=True, bid_per_hour=0.5)
    [rule] = _enable(team, "spot_refill", deployment)
    assert rule.trigger == "preempted"
    assert rule.actions == [{"type": "rebid", "max_bid": 1.0, "fallback_on_demand": True, "max_failures": 3}]


def test_unknown_policy_and_bad_params_are_field_errors(team):
    with pytest.raises(ApplicationError) as caught:
        _enable(team, "teleport")
    assert "slug" in caught.value.fields
    with pytest.raises(ApplicationError) as caught:
        _enable(team, "idle_shutdown", params={"minutes": 0, "colour": "red"})
    assert len(caught.value.fields["params"]) == 2
    assert not Rule.objects.exists()
