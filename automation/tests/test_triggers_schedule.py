"""`schedule`: cron rules fire when due, once per slot, advance, fire a long-missed run once,
and read the cron in the rule's time zone."""

from datetime import UTC, datetime, timedelta

import pytest

from automation.models import AutomationEvent, EventType, Rule, Trigger
from automation.tests.factories_triggers import make_rule
from automation.triggers import schedule
from automation.triggers.schedule import evaluate_schedule_rules, next_fire_time

T0 = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)


def _events():
    return list(AutomationEvent.objects.filter(type=EventType.SCHEDULE).order_by("id"))


def _rule(team, cron="0 9 * * *", tz="UTC", **fields):
    return make_rule(team["workspace"], Trigger.SCHEDULE, {"cron": cron, "timezone": tz}, **fields)


def test_a_new_rule_is_armed_for_its_next_time_without_firing(team):
    rule = _rule(team)
    assert evaluate_schedule_rules(now=T0) == 0
    rule.refresh_from_db()
    assert rule.next_fire_at == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_due_fires_once_and_advances(team):
    rule = _rule(team)
    evaluate_schedule_rules(now=T0)
    assert evaluate_schedule_rules(now=T0 + timedelta(minutes=20)) == 0  # 08:50: not yet
    assert evaluate_schedule_rules(now=T0 + timedelta(minutes=30, seconds=7)) == 1
    assert evaluate_schedule_rules(now=T0 + timedelta(minutes=30, seconds=22)) == 0
    rule.refresh_from_db()
    assert rule.next_fire_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    [event] = _events()
    assert event.data["rule_id"] == rule.pk and event.data["scheduled_for"] == "2026-11-29T09:00:00+00:00"
    assert event.data["late_s"] == 7 and event.deployment is None


def test_a_run_missed_long_ago_fires_once_not_per_missed_slot(team):
    rule = _rule(team, cron="*/5 * * * *")
    evaluate_schedule_rules(now=T0)
    three_days_later = T0 + timedelta(days=3, seconds=1)
    assert evaluate_schedule_rules(now=three_days_later) == 1
    assert evaluate_schedule_rules(now=three_days_later + timedelta(seconds=15)) == 0
    rule.refresh_from_db()
    assert rule.next_fire_at == T0 + timedelta(days=3, minutes=5)
    assert len(_events()) == 1


def test_the_cron_is_read_in_the_rules_time_zone_across_dst(team):
    berlin = "Europe/Berlin"
    assert next_fire_time("0 9 * * *", berlin, datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST (summer time began that night)
    assert next_fire_time("0 9 * * *", berlin, datetime(2026, 3, 27, 12, tzinfo=UTC)) == datetime(
        2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
    rule = _rule(team, tz="America/New_York")
    evaluate_schedule_rules(now=T0)
    rule.refresh_from_db()
    assert rule.next_fire_at == datetime(2026, 11, 29, 14, 0, tzinfo=UTC)  # 09:00 EST


def test_a_time_armed_when_the_rule_was_saved_is_kept(team):
    rule = _rule(team, next_fire_at=datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    assert evaluate_schedule_rules(now=datetime(2026, 11, 29, 9, 0, 5, tzinfo=UTC)) == 1
    rule.refresh_from_db()
    assert rule.next_fire_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_a_changed_cron_is_rearmed(team):
    rule = _rule(team)
    evaluate_schedule_rules(now=T0)
    Rule.objects.filter(pk=rule.pk).update(trigger_params={"cron": "45 8 * * *", "timezone": "UTC"})
    evaluate_schedule_rules(now=T0)
    rule.refresh_from_db()
    assert rule.next_fire_at == datetime(2026, 11, 29, 8, 45, tzinfo=UTC)


def test_two_workers_seeing_the_same_due_rule_fire_it_once(team):
    rule = _rule(team)
    evaluate_schedule_rules(now=T0)
    stale = Rule.objects.get(pk=rule.pk)
    now = T0 + timedelta(minutes=31)
    assert evaluate_schedule_rules(now=now) == 1
    assert schedule._step(stale, now) is False  # the slower worker's copy still says it is due
    assert len(_events()) == 1


@pytest.mark.parametrize(("cron", "tz"), [("every day", "UTC"), ("0 9 * * *", "Mars/Olympus")])
def test_a_bad_schedule_is_skipped_not_fatal(team, cron, tz):
    _rule(team, cron=cron, tz=tz)
    good = _rule(team)
    assert evaluate_schedule_rules(now=T0) == 0
    good.refresh_from_db()
    assert good.next_fire_at is not None
