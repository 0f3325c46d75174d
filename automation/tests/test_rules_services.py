"""Creating, changing and deleting rules: everything validated first, nothing stored half-valid."""

import pytest

from automation.models import Budget, ChannelKind, Rule, Trigger
from automation.services.rules import rule_create, rule_delete, rule_update
from automation.tests.factories_rules import channel
from computehub.errors import ApplicationError
from deployments.tests.factories import DeploymentFactory


def _create(team, **data):
    values = {"name": "Restart on down", "trigger": "down", "actions": [{"type": "restart"}], **data}
    return rule_create(workspace=team["workspace"], user=team["developer"], data=values)


def _refused(team, **data) -> dict:
    with pytest.raises(ApplicationError) as caught:
        _create(team, **data)
    assert Rule.objects.count() == 0
    return caught.value.fields


def test_a_valid_rule_is_stored_with_defaults(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    rule = _create(team, deployment=str(deployment.pk),
                   conditions={"field": "deployment.provider", "op": "eq", "value": "runpod"})
    assert (rule.deployment, rule.cooldown_s, rule.max_per_hour, rule.dry_run) == (deployment, 300, 3, False)
    assert rule.created_by == team["developer"]


@pytest.mark.parametrize("data, field, needle", [
    ({"conditions": {"field": "deployment.colour", "op": "eq", "value": "red"}}, "conditions", "field"),
    ({"conditions": {"all": [{"field": "deployment.gpu_count", "op": "like", "value": 1}]}}, "conditions",
     "all[0].op"),
    ({"trigger": "schedule", "trigger_params": {"cron": "every day at noon"}}, "trigger_params", "cron"),
    ({"trigger": "schedule", "trigger_params": {"cron": "0 25 * * *"}}, "trigger_params", "cron"),
    ({"trigger": "schedule", "trigger_params": {"cron": "0 9 * * *", "timezone": "Mars/Olympus"}},
     "trigger_params", "timezone"),
    ({"trigger": "cost_threshold", "trigger_params": {"usd": 0}}, "trigger_params", "usd"),
    ({"trigger": "cost_threshold", "trigger_params": {"usd": -5, "period": "day"}}, "trigger_params", "usd"),
    ({"trigger": "cost_threshold", "trigger_params": {"usd": 5, "period": "week"}}, "trigger_params", "period"),
    ({"trigger": "idle", "trigger_params": {"threshold_percent": 101, "minutes": 30}}, "trigger_params",
     "threshold_percent"),
    ({"trigger": "idle", "trigger_params": {"minutes": 0}}, "trigger_params", "minutes"),
    ({"trigger": "price_change", "trigger_params": {"min_saving_percent": 95}}, "trigger_params", "min_saving"),
    ({"trigger": "price_below", "trigger_params": {"gpu_model": "h900", "price": 2}}, "trigger_params", "gpu_model"),
    ({"trigger": "price_below", "trigger_params": {"gpu_model": "h100-sxm", "price": 0}}, "trigger_params", "price"),
    ({"trigger": "budget_reached", "trigger_params": {"budget_id": 999}}, "trigger_params", "budget_id"),
    ({"trigger": "down", "trigger_params": {"surprise": 1}}, "trigger_params", "surprise"),
    ({"trigger": "meteor"}, "trigger", "one of"),
    ({"name": "  "}, "name", "name"),
    ({"actions": []}, "actions", "1 to 10"),
    ({"actions": [{"type": "restart"}] * 11}, "actions", "1 to 10"),
    ({"actions": [{"type": "explode"}]}, "actions", "actions[0].type"),
    ({"actions": [{"type": "rebid", "max_bid": 0}]}, "actions", "actions[0].max_bid"),
    ({"actions": [{"type": "rebid", "max_failures": 11}]}, "actions", "max_failures"),
    ({"actions": [{"type": "rebid", "fallback_on_demand": "yes"}]}, "actions", "fallback_on_demand"),
    ({"actions": [{"type": "migrate", "min_saving_percent": 0}]}, "actions", "min_saving_percent"),
    ({"actions": [{"type": "notify", "channels": ["not-a-uuid"]}]}, "actions", "channels"),
    ({"actions": [{"type": "webhook"}]}, "actions", "channel"),
    ({"cooldown_s": -1}, "cooldown_s", "between"),
    ({"cooldown_s": 86401}, "cooldown_s", "between"),
    ({"max_per_hour": 0}, "max_per_hour", "between"),
    ({"max_per_hour": 61}, "max_per_hour", "between"),
    ({"dry_run": "yes"}, "dry_run", "true or false"),
    ({"deployment": "6f1c0000-0000-0000-0000-000000000000"}, "deployment", "No such deployment"),
    ({"escalation": [{"type": "stop"}] * 6}, "escalation", "At most"),
    ({"colour": "red"}, "colour", "Unknown field"),
])
def test_bad_input_names_the_field_and_stores_nothing(team, data, field, needle):
    fields = _refused(team, **data)
    assert field in fields
    assert any(needle.lower() in message.lower() for message in fields[field]), fields


def test_every_problem_is_reported_at_once(team):
    fields = _refused(team, name="", trigger="idle", trigger_params={"minutes": 0}, actions=[{"type": "nap"}])
    assert {"name", "trigger_params", "actions"} <= set(fields)


def test_channels_of_another_workspace_are_refused(team, other_team):
    theirs = channel(other_team["workspace"], kind=ChannelKind.WEBHOOK)
    assert "actions" in _refused(team, actions=[{"type": "notify", "channels": [str(theirs.pk)]}])
    assert "actions" in _refused(team, actions=[{"type": "webhook", "channel": str(theirs.pk)}])


def test_a_webhook_action_needs_a_webhook_channel(team):
    email = channel(team["workspace"], kind=ChannelKind.EMAIL)
    assert "actions" in _refused(team, actions=[{"type": "webhook", "channel": str(email.pk)}])


def test_own_channels_are_accepted(team):
    hook, email = channel(team["workspace"], kind=ChannelKind.WEBHOOK), channel(team["workspace"])
    rule = _create(team, actions=[{"type": "notify", "channels": [str(email.pk)]},
                                  {"type": "webhook", "channel": str(hook.pk)}])
    assert rule.actions == [{"type": "notify", "channels": [str(email.pk)], "message": ""},
                            {"type": "webhook", "channel": str(hook.pk)}]


def test_a_deployment_of_another_workspace_is_refused(team, other_team):
    theirs = DeploymentFactory(workspace=other_team["workspace"])
    assert "deployment" in _refused(team, deployment=theirs)


def test_a_budget_of_another_workspace_is_refused(team, other_team):
    budget = Budget.objects.create(workspace=other_team["workspace"], period="month", limit_usd=10)
    assert "trigger_params" in _refused(team, trigger="budget_reached", trigger_params={"budget_id": budget.pk})


def test_a_schedule_rule_knows_when_it_fires_next(team):
    rule = _create(team, trigger="schedule", trigger_params={"cron": "0 20 * * 1-5", "timezone": "Europe/Berlin"},
                   actions=[{"type": "stop"}])
    assert rule.next_fire_at is not None
    assert rule.trigger_params == {"cron": "0 20 * * 1-5", "timezone": "Europe/Berlin"}


def test_update_validates_the_merged_rule_and_keeps_the_old_one_when_refused(team):
    rule = _create(team)
    with pytest.raises(ApplicationError) as caught:
        rule_update(rule=rule, user=team["developer"], data={"max_per_hour": 0, "name": "Renamed"})
    assert "max_per_hour" in caught.value.fields
    rule.refresh_from_db()
    assert (rule.name, rule.max_per_hour) == ("Restart on down", 3)


def test_changing_the_trigger_resets_its_bookkeeping(team):
    rule = _create(team, trigger="idle", trigger_params={"threshold_percent": 5, "minutes": 30},
                   actions=[{"type": "stop"}])
    Rule.objects.filter(pk=rule.pk).update(state={"below_since": "2026-01-01T00:00:00Z"})
    rule.refresh_from_db()
    rule = rule_update(rule=rule, user=team["developer"], data={"trigger_params": {"minutes": 10}})
    assert rule.state == {} and rule.trigger_params == {"threshold_percent": 5, "minutes": 10}


def test_delete_keeps_nothing_of_the_rule(team):
    rule = _create(team)
    rule_delete(rule=rule, user=team["developer"])
    assert not Rule.objects.exists()


def test_every_trigger_accepts_its_documented_params(team):
    examples = {
        Trigger.IDLE: {"threshold_percent": 5, "minutes": 30}, Trigger.COST_THRESHOLD: {"usd": 10, "period": "month"},
        Trigger.PRICE_CHANGE: {"min_saving_percent": 20, "minutes": 0},
        Trigger.PRICE_BELOW: {"gpu_model": "h100-sxm", "price": 2.0},
        Trigger.SCHEDULE: {"cron": "*/5 * * * *", "timezone": "UTC"}, Trigger.BUDGET_REACHED: {},
    }
    for trigger in Trigger.values:
        _create(team, trigger=trigger, trigger_params=examples.get(trigger, {}), actions=[{"type": "notify"}])
    assert Rule.objects.count() == len(Trigger.values)
