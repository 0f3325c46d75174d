"""The rules engine end to end on the database: events in, one decision per rule and event,
the restart request (or nothing) out, a RuleRun and a timeline line for each."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.engine import process_events
from automation.engine.processor import STALE_CLAIM_S, claim_events, handle_event
from automation.models import AutomationEvent, HealthCheck, HealthState, RuleRun, RunOutcome
from automation.tests.factories_rules import channel, deployment_with_health, event, restarts, rule
from deployments.models import Deployment, DeploymentEvent, EventKind


@pytest.fixture
def operations(monkeypatch):
    """start_operation calls, recorded (the orchestration area tests the operations themselves)."""
    calls = []

    class Op:
        pk = 77

    def fake(**kwargs):
        calls.append(kwargs)
        return Op()

    monkeypatch.setattr("automation.orchestration.start_operation", fake)
    return calls


@pytest.fixture
def notified(monkeypatch):
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return 1

    monkeypatch.setattr("automation.services.notify.notify_channels", fake)
    return calls


def test_a_down_event_gives_exactly_one_restart_and_one_run(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    restart_rule = rule(workspace)
    down = event(workspace, "down", deployment)
    assert process_events() == 1
    assert process_events() == 0  # processed: nobody takes it again
    [run] = RuleRun.objects.all()
    assert (run.rule, run.event, run.deployment, run.outcome) == (restart_rule, down, deployment, RunOutcome.DONE)
    assert run.actions[0]["type"] == "restart" and run.actions[0]["status"] == "done"
    assert restarts(deployment) == 1
    assert DeploymentEvent.objects.filter(deployment=deployment, kind=EventKind.AUTOMATION,
                                          message__icontains="restart requested").count() == 1
    down.refresh_from_db()
    assert down.processed_at is not None


def test_events_no_rule_cares_about_are_marked_processed(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, trigger="preempted", actions=[{"type": "notify"}])
    event(workspace, "down", deployment)
    event(workspace, "flapping", deployment)
    assert process_events() == 2
    assert not AutomationEvent.objects.filter(processed_at__isnull=True).exists()
    assert not RuleRun.objects.exists()


def test_still_down_also_matches_a_down_rule_and_scope_is_respected(team):
    workspace = team["workspace"]
    mine, other = deployment_with_health(workspace), deployment_with_health(workspace)
    rule(workspace, deployment=mine, cooldown_s=0)
    event(workspace, "still_down", mine)
    event(workspace, "down", other)
    process_events()
    assert (restarts(mine), restarts(other)) == (1, 0)


def test_restart_budget_escalates_on_the_fourth_and_once_per_hour(team, operations):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, cooldown_s=0, max_per_hour=3, escalation=[{"type": "failover"}])
    outcomes = []
    for _ in range(5):
        event(workspace, "still_down", deployment)
        process_events()
        Deployment.objects.update(restart_requested_at=None)  # the reconciler carried the restart out
        outcomes.append(RuleRun.objects.order_by("-id").first().outcome)
    assert outcomes == ["done", "done", "done", "escalated", "capped"]
    assert restarts(deployment) == 3
    assert [call["kind"] for call in operations] == ["failover"]
    urgent = AutomationEvent.objects.get(type="urgent")
    assert urgent.deployment == deployment and "escalated" in urgent.summary


def test_cooldown_holds_back_a_second_action(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, cooldown_s=300)
    event(workspace, "down", deployment)
    process_events()
    event(workspace, "still_down", deployment)
    process_events()
    assert list(RuleRun.objects.order_by("id").values_list("outcome", flat=True)) == ["done", "cooldown"]
    assert restarts(deployment) == 1


def test_cooldown_ends(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, cooldown_s=60)
    event(workspace, "down", deployment)
    process_events()
    RuleRun.objects.update(started_at=timezone.now() - timedelta(seconds=61))
    Deployment.objects.update(restart_requested_at=None)
    event(workspace, "still_down", deployment)
    process_events()
    assert restarts(deployment) == 2


def test_dry_run_records_the_decision_and_does_nothing(team, notified):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, dry_run=True, actions=[{"type": "restart"}, {"type": "notify", "channels": []}])
    event(workspace, "down", deployment)
    process_events()
    [run] = RuleRun.objects.all()
    assert (run.outcome, run.dry_run, run.actions) == (RunOutcome.DRY_RUN, True, [])
    assert restarts(deployment) == 0 and notified == []
    line = DeploymentEvent.objects.get(deployment=deployment, kind=EventKind.AUTOMATION)
    assert "dry run" in line.message and "Would restart" in line.message


@pytest.mark.parametrize("state, reason", [(HealthState.UNKNOWN, "unknown"), (HealthState.UP, "recovered")])
def test_no_destructive_action_when_health_is_unknown_or_back_up_at_decision_time(team, state, reason):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace)
    event(workspace, "down", deployment)
    HealthCheck.objects.filter(deployment=deployment).update(state=state)  # changed after the event was written
    process_events()
    [run] = RuleRun.objects.all()
    assert run.outcome == RunOutcome.SKIPPED and reason in run.detail.lower()
    assert restarts(deployment) == 0


def test_conditions_decide(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, conditions={"field": "deployment.provider", "op": "eq", "value": "vast"})
    event(workspace, "down", deployment)
    process_events()
    assert not RuleRun.objects.exists() and restarts(deployment) == 0


def test_an_event_for_one_rule_is_evaluated_by_that_rule_only(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace, state=HealthState.UP)
    idle = rule(workspace, trigger="idle", trigger_params={"threshold_percent": 5, "minutes": 30},
                actions=[{"type": "stop"}])
    rule(workspace, trigger="idle", trigger_params={"threshold_percent": 50, "minutes": 5}, actions=[{"type": "stop"}])
    event(workspace, "idle", deployment, data={"rule_id": idle.pk})
    process_events()
    assert list(RuleRun.objects.values_list("rule", flat=True)) == [idle.pk]


def test_a_refused_restart_is_a_failed_run_with_the_reason(team):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace, status="stopped", desired_state="stopped")
    rule(workspace)
    event(workspace, "down", deployment)
    process_events()
    [run] = RuleRun.objects.all()
    assert run.outcome == RunOutcome.FAILED and run.actions[0]["detail"]


def test_a_workspace_budget_stops_every_running_deployment_through_confirmed_cap_stops(team, operations):
    workspace = team["workspace"]
    running = [deployment_with_health(workspace, state=HealthState.UP) for _ in range(2)]
    deployment_with_health(workspace, status="stopped", desired_state="stopped")
    cap = rule(workspace, trigger="budget_reached", trigger_params={"budget_id": 5}, actions=[{"type": "stop"}],
               cooldown_s=0)
    rule(workspace, trigger="budget_reached", trigger_params={"budget_id": 6}, actions=[{"type": "stop"}])
    event(workspace, "budget_reached", data={"budget_id": 5, "spent_usd": 101.0, "limit_usd": 100.0})
    process_events()
    [run] = RuleRun.objects.all()
    assert run.rule == cap and run.outcome == RunOutcome.PENDING and len(run.actions) == 2
    assert {call["source"] for call in operations} == set(running)
    assert all(call["kind"] == "cap_stop" and call["params"]["action"] == "stop" and call["rule_run"] == run
               for call in operations)
    assert operations[0]["params"]["budget_id"] == 5


def test_operation_actions_pass_their_parameters(team, operations):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace, state=HealthState.UP, spot=True, bid_per_hour=0.4)
    rule(workspace, trigger="preempted", actions=[{"type": "rebid", "max_bid": None, "fallback_on_demand": True,
                                                   "max_failures": 2}])
    migrate = rule(workspace, trigger="price_change", actions=[{"type": "migrate", "min_saving_percent": 25}])
    event(workspace, "preempted", deployment)
    event(workspace, "price_change", deployment, data={"rule_id": migrate.pk, "offer_id": "X|1", "saving_percent": 30})
    process_events()
    refill, move = operations
    assert (refill["kind"], refill["params"]) == ("refill", {"max_bid": 0.8, "max_failures": 2,
                                                             "fallback_on_demand": True})
    assert (move["kind"], move["params"]) == ("migrate", {"min_saving_percent": 25, "offer_id": "X|1"})
    assert set(RuleRun.objects.values_list("outcome", flat=True)) == {RunOutcome.PENDING}


def test_notify_and_webhook_are_queued_once_with_what_was_done(team, notified):
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    hook = channel(workspace, kind="webhook")
    rule(workspace, actions=[{"type": "notify"}, {"type": "restart"}, {"type": "webhook", "channel": str(hook.pk)}])
    down = event(workspace, "down", deployment)
    process_events()
    run = RuleRun.objects.get()
    first, second = notified
    assert first["message_key"] == f"rulerun:{run.pk}" and first["channel_ids"] is None
    assert first["event"] == down and "restart requested" in first["body"]
    assert second["channel_ids"] == [str(hook.pk)] and second["payload"]["rule_run"]["id"] == run.pk
    assert second["message_key"] != first["message_key"]


def test_a_missing_module_fails_the_action_not_the_engine(team, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_orchestration(name, *args, **kwargs):
        if name == "automation.orchestration":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace, actions=[{"type": "failover"}])
    event(workspace, "down", deployment)
    monkeypatch.setattr(builtins, "__import__", no_orchestration)
    process_events()
    [run] = RuleRun.objects.all()
    assert run.outcome == RunOutcome.FAILED and run.actions[0]["detail"] == "not available yet"


def test_a_claim_is_exclusive_until_it_goes_stale(team):
    workspace = team["workspace"]
    event(workspace, "down", deployment_with_health(workspace))
    first = claim_events()
    assert len(first) == 1 and claim_events() == []
    AutomationEvent.objects.update(claimed_at=timezone.now() - timedelta(seconds=STALE_CLAIM_S + 1))
    assert len(claim_events()) == 1  # its worker died: another takes it over


def test_a_dead_workers_event_is_taken_over_within_20_seconds(team):
    """A cost cap's stop must be issued within 60 s of the crossing, worker deaths included."""
    workspace = team["workspace"]
    event(workspace, "budget_reached", deployment_with_health(workspace))
    assert len(claim_events()) == 1  # and its worker dies
    AutomationEvent.objects.update(claimed_at=timezone.now() - timedelta(seconds=20))
    assert len(claim_events()) == 1


def test_a_second_worker_processing_the_same_event_does_nothing(team):
    """After a stale reclaim both workers may hold the event; the run's unique insert lets one act."""
    workspace = team["workspace"]
    deployment = deployment_with_health(workspace)
    rule(workspace)
    event(workspace, "down", deployment)
    [held] = claim_events()
    AutomationEvent.objects.update(claimed_at=timezone.now() - timedelta(seconds=STALE_CLAIM_S + 1))
    [taken_over] = claim_events()
    handle_event(taken_over)
    handle_event(held)
    assert RuleRun.objects.count() == 1 and restarts(deployment) == 1
