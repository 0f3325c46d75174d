"""Price triggers against real Offer rows: price_change only after staying cheaper for Y minutes
(and resetting when not), price_below rules and PriceAlert rows edge-triggered."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from automation.engine import process_events
from automation.models import AutomationEvent, EventType, HealthCheck, PriceAlert, Rule, RuleRun, RunOutcome, Trigger
from automation.tests.factories_triggers import make_credential, make_offer, make_rule, migratable, set_price
from automation.triggers import run_periodic_triggers
from automation.triggers.prices import (evaluate_price_alerts, evaluate_price_below_rules,
                                        evaluate_price_change_rules, price_alert_step)
from deployments.tests.factories import DeploymentFactory

T0 = timezone.now()


def _events(type_):
    return list(AutomationEvent.objects.filter(type=type_).order_by("id"))


# --- price_change -------------------------------------------------------------------------------


@pytest.fixture
def market(team):
    """A running RTX 4090 at $0.44/h on RunPod (migratable), and the same GPU on Vast."""
    deployment = DeploymentFactory(workspace=team["workspace"], price_per_hour=0.44)
    migratable(deployment)
    vast = make_credential(team["workspace"], "vast")
    return {"deployment": deployment, "offer": make_offer(vast, price=0.40), "vast": vast}


def _migration_rule(team, **params):
    return make_rule(team["workspace"], Trigger.PRICE_CHANGE, {"min_saving_percent": 20, "minutes": 30, **params})


def test_price_change_fires_only_after_staying_cheaper_for_the_minutes(team, market):
    rule = _migration_rule(team)
    assert evaluate_price_change_rules(now=T0) == 0  # 9% cheaper: not enough
    set_price(market["offer"], 0.30)  # 31.8% cheaper
    assert evaluate_price_change_rules(now=T0) == 0
    assert evaluate_price_change_rules(now=T0 + timedelta(minutes=29)) == 0
    assert evaluate_price_change_rules(now=T0 + timedelta(minutes=30)) == 1
    assert evaluate_price_change_rules(now=T0 + timedelta(minutes=45)) == 0  # once per cheaper streak
    [event] = _events(EventType.PRICE_CHANGE)
    offer = market["offer"]
    assert event.deployment == market["deployment"]
    assert event.data | {"since": None} == {
        "rule_id": rule.pk, "offer": offer.pk, "offer_id": offer.offer_id, "provider": "vast", "price": 0.30,
        "current_price": 0.44, "saving_percent": 31.82, "since": None, "spot": False}
    assert event.data["since"] == T0.isoformat()


def test_price_change_resets_when_the_offer_is_not_cheaper_any_more(team, market):
    _migration_rule(team)
    set_price(market["offer"], 0.30)
    evaluate_price_change_rules(now=T0)
    set_price(market["offer"], 0.43)  # back up at minute 20
    evaluate_price_change_rules(now=T0 + timedelta(minutes=20))
    set_price(market["offer"], 0.30)
    assert evaluate_price_change_rules(now=T0 + timedelta(minutes=35)) == 0  # the clock started again
    assert evaluate_price_change_rules(now=T0 + timedelta(minutes=64)) == 0
    assert evaluate_price_change_rules(now=T0 + timedelta(minutes=65)) == 1


def test_price_change_needs_the_deployments_consent(team, market):
    migratable(market["deployment"], yes=False)
    _migration_rule(team, minutes=0)
    set_price(market["offer"], 0.10)
    assert evaluate_price_change_rules(now=T0) == 0


def test_price_change_ignores_other_gpus_spot_sold_out_and_this_machine(team, market):
    _migration_rule(team, minutes=0)
    vast = market["vast"]
    set_price(market["offer"], 0.43)
    make_offer(vast, gpu_model="rtx-3090", price=0.10)
    make_offer(vast, price=0.10, spot=True)
    make_offer(vast, price=0.10, available=0)
    make_offer(make_credential(team["workspace"], "local"), price=0.01)
    make_offer(vast, price=0.20, gpu_count=2)
    assert evaluate_price_change_rules(now=T0) == 0


def test_two_workers_evaluating_the_same_tick_write_one_event(team, market):
    rule = _migration_rule(team, minutes=0)
    set_price(market["offer"], 0.30)
    stale = Rule.objects.get(pk=rule.pk)
    assert evaluate_price_change_rules(now=T0) == 1
    from automation.triggers.prices import _price_change
    assert _price_change(stale, 20, timedelta(0), T0) == 0
    assert len(_events(EventType.PRICE_CHANGE)) == 1


def _judged_by_the_engine():
    process_events()
    return list(RuleRun.objects.order_by("id").values_list("outcome", flat=True))


def test_a_streak_held_back_while_the_provider_is_unsure_is_announced_again(team, market):
    _migration_rule(team, minutes=0)
    Rule.objects.update(actions=[{"type": "migrate"}])
    HealthCheck.objects.filter(deployment=market["deployment"]).update(unknown_since=T0)  # not answering
    set_price(market["offer"], 0.30)
    assert evaluate_price_change_rules(now=T0) == 1
    assert _judged_by_the_engine() == [RunOutcome.SKIPPED]
    held = AutomationEvent.objects.get().processed_at

    assert evaluate_price_change_rules(now=held + timedelta(seconds=59)) == 0
    assert evaluate_price_change_rules(now=held + timedelta(seconds=60)) == 1
    assert _judged_by_the_engine() == [RunOutcome.SKIPPED] * 2
    held = AutomationEvent.objects.order_by("id").last().processed_at
    assert evaluate_price_change_rules(now=held + timedelta(seconds=119)) == 0  # it backs off
    assert evaluate_price_change_rules(now=held + timedelta(seconds=120)) == 1
    assert len({event.data["since"] for event in _events(EventType.PRICE_CHANGE)}) == 1  # one streak


def test_a_streak_the_engine_acted_on_is_not_announced_again(team, market):
    _migration_rule(team, minutes=0)
    set_price(market["offer"], 0.30)
    assert evaluate_price_change_rules(now=T0) == 1
    assert _judged_by_the_engine() == [RunOutcome.DONE]
    assert evaluate_price_change_rules(now=timezone.now() + timedelta(hours=2)) == 0


# --- price_below rules --------------------------------------------------------------------------


@pytest.fixture
def h100(team):
    return make_offer(make_credential(team["workspace"], "lambda"), gpu_model="h100-sxm", price=2.50, vram_gb=80)


def test_price_below_rule_is_edge_triggered(team, h100):
    rule = make_rule(team["workspace"], Trigger.PRICE_BELOW, {"gpu_model": "h100-sxm", "price": 2.0})
    steps = []
    for price in (2.50, 1.99, 1.80, 2.00, 2.40, 1.95, 1.90):
        set_price(h100, price)
        steps.append(evaluate_price_below_rules())
    assert steps == [0, 1, 0, 0, 0, 1, 0]  # fire; stay below: nothing; above; below again: fire
    events = _events(EventType.PRICE_BELOW)
    assert [event.data["price"] for event in events] == [1.99, 1.95]
    assert events[0].data["rule_id"] == rule.pk and events[0].data["offer"]["pk"] == h100.pk
    assert events[0].deployment is None


def test_a_changed_price_threshold_judges_afresh(team, h100):
    rule = make_rule(team["workspace"], Trigger.PRICE_BELOW, {"gpu_model": "h100-sxm", "price": 2.0})
    set_price(h100, 1.50)
    assert evaluate_price_below_rules() == 1
    Rule.objects.filter(pk=rule.pk).update(trigger_params={"gpu_model": "h100-sxm", "price": 1.75})
    assert evaluate_price_below_rules() == 1


# --- price alerts -------------------------------------------------------------------------------


def _alert(team, **fields):
    fields.setdefault("max_price_per_hour", Decimal("2.00"))
    return PriceAlert.objects.create(workspace=team["workspace"], gpu_model="h100-sxm", **fields)


def test_price_alert_is_edge_triggered_and_remembers_the_price(team, h100):
    alert = _alert(team)
    steps = []
    for price in (2.50, 1.99, 1.80, 2.01, 1.95):
        set_price(h100, price)
        steps.append(evaluate_price_alerts())
    assert steps == [0, 1, 0, 0, 1]
    alert.refresh_from_db()
    assert alert.is_below and alert.last_price == 1.95 and alert.last_triggered_at is not None
    first = _events(EventType.PRICE_BELOW)[0]
    assert first.workspace == team["workspace"] and first.deployment is None
    assert first.data["alert_id"] == alert.pk and first.data["gpu_model"] == "h100-sxm"
    assert first.data["price"] == 1.99 and first.data["provider"] == "lambda"
    assert first.data["offer"]["offer_id"] == h100.offer_id and "rule_id" not in first.data
    assert "H100 SXM" in first.summary and "$1.99" in first.summary


def test_price_alert_filters_provider_spot_and_gpu_count(team, h100):
    runpod = make_credential(team["workspace"], "runpod")
    _alert(team, provider="runpod", min_gpus=8)
    make_offer(runpod, gpu_model="h100-sxm", price=1.0, vram_gb=80)  # one GPU only
    make_offer(runpod, gpu_model="h100-sxm", price=8.0, gpu_count=8, vram_gb=80, spot=True)  # spot not wanted
    set_price(h100, 1.0)  # another provider
    assert evaluate_price_alerts() == 0
    make_offer(runpod, gpu_model="h100-sxm", price=15.2, gpu_count=8, vram_gb=80)  # $1.90 per GPU-hour
    assert evaluate_price_alerts() == 1


def test_no_offers_at_all_keeps_the_state(team, h100):
    alert = _alert(team)
    set_price(h100, 1.5)
    evaluate_price_alerts()
    h100.delete()
    assert evaluate_price_alerts() == 0
    alert.refresh_from_db()
    assert alert.is_below


def test_a_disabled_alert_and_other_workspaces_offers_say_nothing(team, other_team):
    _alert(team, enabled=False)
    other = make_offer(make_credential(other_team["workspace"], "vast"), gpu_model="h100-sxm", price=0.5, vram_gb=80)
    alert = _alert(team)
    assert evaluate_price_alerts() == 0
    alert.refresh_from_db()
    assert not alert.is_below and alert.last_price is None and other.price_per_gpu_hour == 0.5


def test_two_workers_seeing_one_crossing_fire_it_once(team, h100):
    alert = _alert(team)
    set_price(h100, 1.5)
    h100.refresh_from_db()
    stale = PriceAlert.objects.get(pk=alert.pk)
    assert price_alert_step(alert, h100, T0) is True
    assert price_alert_step(stale, h100, T0 + timedelta(seconds=1)) is False
    assert run_periodic_triggers()["price_alerts"] == 0
    assert len(_events(EventType.PRICE_BELOW)) == 1
