"""Plain-language text for rules, and the builder's inputs kept in step with what the engine
accepts (a parameter added there without an input here fails this test)."""

from automation import conditions, describe
from automation.engine.params import ACTION_PARAMS, ACTION_TYPES, TRIGGER_PARAMS
from automation.models import Trigger
from automation.policies import POLICIES


def test_every_trigger_action_and_policy_parameter_has_an_input_and_a_label():
    assert set(describe.TRIGGER_LABELS) == set(Trigger.values) == set(describe.TRIGGER_INPUTS)
    for trigger, params in TRIGGER_PARAMS.items():
        assert {i.name for i in describe.TRIGGER_INPUTS[trigger]} == set(params), trigger
    assert set(describe.ACTION_LABELS) == set(ACTION_TYPES)
    for action, params in ACTION_PARAMS.items():
        assert {i.name for i in describe.ACTION_INPUTS[action]} == set(params), action
    for slug, policy in POLICIES.items():
        assert {i.name for i in describe.POLICY_INPUTS[slug]} == set(policy.params), slug


def test_a_whole_rule_reads_as_a_sentence():
    text = describe.describe_rule({
        "trigger": "price_below", "trigger_params": {"gpu_model": "h100-sxm", "price": 2},
        "conditions": {"any": [{"field": "time.weekday", "op": "in", "value": [5, 6]}]},
        "actions": [{"type": "notify", "channels": ["c1"]}, {"type": "webhook", "channel": "c2"}],
        "cooldown_s": 3600, "max_per_hour": 1}, channel_names={"c1": "Ops (Telegram)", "c2": "Pager"})
    assert text == ("When h100-sxm costs $2.00 per GPU-hour or less on any provider, if weekday (0 = Monday) is one "
                    "of 5, 6, then notify Ops (Telegram) and call the webhook Pager. At most once every hour and 1 "
                    "times per hour for each deployment.")


def test_each_trigger_and_action_has_words_and_incomplete_conditions_do_not_break_the_preview():
    for trigger in Trigger.values:
        assert describe.describe_trigger(trigger, {}).startswith("When ")
    assert describe.describe_action({"type": "rebid", "max_bid": 1.5}) == (
        "relaunch the spot instance at the current minimum bid (up to $1.50/hour), then on-demand after 3 failed bids")
    assert describe.describe_actions([]) == "do nothing yet (add an action)"
    assert "not complete" in describe.describe_conditions({"all": [{"field": "health.state", "op": "lt"}]})


def test_operators_offered_per_field_are_those_the_language_accepts():
    assert [op for op, _ in describe.operators_for("deployment.spot")] == ["eq", "ne", "exists"]
    assert "contains" not in dict(describe.operators_for("deployment.gpu_count"))
    assert "lt" not in dict(describe.operators_for("deployment.provider"))
    for field in conditions.FIELDS:
        assert describe.operators_for(field)
