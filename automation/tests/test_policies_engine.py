"""Policies in action through the engine: auto-restart and failover share a down deployment
without ever both acting on one event."""

import pytest

from automation.engine import process_events
from automation.models import AutomationEvent, Rule, RuleRun, RunOutcome
from automation.policies import policy_enable
from automation.tests.factories_rules import deployment_with_health, event, restarts
from deployments.models import Deployment


@pytest.fixture
def operations(monkeypatch):
    calls = []

    class Op:
        pk = 1

    monkeypatch.setattr("automation.orchestration.start_operation", lambda **kwargs: calls.append(kwargs) or Op())
    return calls


def _enable(team, slug, deployment=None):
    return policy_enable(workspace=team["workspace"], user=team["developer"], slug=slug, deployment=deployment)


def _still_down(team, deployment, times: int) -> list[list[str]]:
    """Per event: the (policy, outcome) pairs the engine recorded."""
    seen = []
    for _ in range(times):
        one = event(team["workspace"], "still_down", deployment)
        process_events()
        Deployment.objects.update(restart_requested_at=None)  # the reconciler carried the restart out
        seen.append(sorted(f"{run.rule.policy}:{run.outcome}" for run in RuleRun.objects.filter(event=one)))
    return seen


def test_auto_restart_then_failover_never_both_on_one_event(team, operations):
    deployment = deployment_with_health(team["workspace"])
    _enable(team, "auto_restart", deployment)
    _enable(team, "failover")
    Rule.objects.filter(policy="auto_restart").update(cooldown_s=0)
    seen = _still_down(team, deployment, 5)
    assert seen == [["auto_restart:done"], ["auto_restart:done"], ["auto_restart:done"],
                    ["auto_restart:escalated"], ["auto_restart:capped"]]
    assert restarts(deployment) == 3
    assert [call["kind"] for call in operations] == ["failover"]
    assert AutomationEvent.objects.filter(type="urgent", deployment=deployment).count() == 1


def test_without_failover_the_escalation_stops_it(team, operations):
    deployment = deployment_with_health(team["workspace"])
    [restart] = _enable(team, "auto_restart", deployment)
    restart.cooldown_s = 0
    restart.save()
    _still_down(team, deployment, 4)
    [escalated] = RuleRun.objects.filter(outcome=RunOutcome.ESCALATED)
    assert escalated.actions[0]["type"] == "stop" and escalated.actions[0]["status"] == "done"
    assert Deployment.objects.get(pk=deployment.pk).desired_state == "stopped"


def test_failover_alone_waits_for_still_down(team, operations):
    deployment = deployment_with_health(team["workspace"])
    _enable(team, "failover", deployment)
    event(team["workspace"], "down", deployment)
    process_events()
    assert operations == []
    event(team["workspace"], "still_down", deployment)
    process_events()
    assert [call["kind"] for call in operations] == ["failover"]


def test_spot_refill_rebids_on_preemption(team, operations):
    deployment = deployment_with_health(team["workspace"], spot=True, bid_per_hour=0.25)
    _enable(team, "spot_refill", deployment)
    event(team["workspace"], "preempted", deployment)
    process_events()
    [call] = operations
    assert call["kind"] == "refill" and call["params"] == {"max_bid": 0.5, "max_failures": 3,
                                                           "fallback_on_demand": True}


def test_cost_cap_stops_through_a_confirmed_cap_stop(team, operations):
    deployment = deployment_with_health(team["workspace"])
    [cap] = policy_enable(workspace=team["workspace"], user=team["developer"], slug="cost_cap",
                          deployment=deployment, params={"limit_usd": 10})
    event(team["workspace"], "budget_reached", deployment, data={"budget_id": cap.trigger_params["budget_id"]})
    event(team["workspace"], "budget_reached", deployment, data={"budget_id": 12345})  # another budget
    process_events()
    [call] = operations
    assert call["kind"] == "cap_stop" and call["params"]["action"] == "stop" and call["source"] == deployment
