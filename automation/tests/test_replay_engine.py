"""The replay engine over hand-made history (no database): when a rule would have fired, the
cooldown and the hourly cap, conditions against the facts of the moment, and the arithmetic of
what it would have saved."""

from datetime import UTC, datetime, timedelta

import pytest

from automation.replay.history import (ActionRow, DeploymentInfo, EventRow, FlipRow, History, PriceRow, SampleRow,
                                       SpendRow, StatusRow)
from automation.replay.simulate import ALREADY_OFF, CAPPED, COOLDOWN, FIRES, NOT_MATCHED, replay
from automation.replay.spec import RuleSpec

END = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
START = END - timedelta(days=7)
T0 = START + timedelta(days=1)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def history(*deployments: DeploymentInfo, **rows) -> History:
    return History(start=START, end=END, deployments={d.id: d for d in deployments}, **rows)


A = DeploymentInfo("a", "llama", provider="runpod", gpu_model="h100-sxm", price_per_hour=2.0)
B = DeploymentInfo("b", "comfy", provider="vast", gpu_model="h100-sxm", price_per_hour=3.0)


def down(deployment_id: str, at: datetime, n: int = 0) -> EventRow:
    return EventRow(at, "down", deployment_id, "Went down", f"flip:{deployment_id}{n}{at.timestamp()}")


def outcomes(result) -> list[str]:
    return [row.outcome for row in result.rows]


def test_down_rule_fires_then_respects_the_cooldown():
    events = [down("a", T0), down("a", T0 + minutes(2)), down("a", T0 + minutes(120))]
    spec = RuleSpec("down", actions=[{"type": "restart"}], cooldown_s=300, max_per_hour=3)
    result = replay(spec, history(A, events=events))
    assert outcomes(result) == [FIRES, COOLDOWN, FIRES]
    assert result.fired == 2 and result.considered == 3


def test_hourly_cap_counts_only_firings_of_the_last_hour_per_deployment():
    events = [down("a", T0 + minutes(m)) for m in (0, 10, 20, 30, 70)] + [down("b", T0 + minutes(20))]
    spec = RuleSpec("down", actions=[{"type": "restart"}], cooldown_s=0, max_per_hour=2)
    result = replay(spec, history(A, B, events=events))
    by_deployment = [(row.deployment_id, row.outcome) for row in result.rows]
    assert by_deployment == [("a", FIRES), ("a", FIRES), ("a", CAPPED), ("b", FIRES), ("a", CAPPED), ("a", FIRES)]
    assert result.fired == 4


def test_conditions_are_evaluated_against_the_deployment_and_say_why():
    spec = RuleSpec("down", conditions={"all": [{"field": "deployment.provider", "op": "eq", "value": "vast"}]},
                    actions=[{"type": "restart"}])
    result = replay(spec, history(A, B, events=[down("a", T0), down("b", T0 + minutes(1))]))
    assert outcomes(result) == [NOT_MATCHED, FIRES]
    assert result.rows[0].facts_shown == ["provider: runpod"] and result.rows[1].deployment_name == "comfy"


def test_a_trigger_that_never_happened_fires_nothing():
    spec = RuleSpec("recovered", actions=[{"type": "restart"}])
    result = replay(spec, history(A, events=[down("a", T0)]))
    assert result.rows == [] and result.fired == 0 and result.saved_usd == 0


def test_scope_limits_the_rule_to_its_deployment():
    spec = RuleSpec("down", actions=[{"type": "restart"}], deployment_id="b")
    result = replay(spec, history(A, B, events=[down("a", T0), down("b", T0 + minutes(1))]))
    assert [row.deployment_id for row in result.rows] == ["b"]


def test_flip_without_an_event_still_counts_and_restart_estimates_downtime_avoided():
    flips = [FlipRow(1, T0, "a", "up", "down"), FlipRow(2, T0 + minutes(40), "a", "down", "up")]
    result = replay(RuleSpec("down", actions=[{"type": "restart"}]), history(A, flips=flips))
    assert outcomes(result) == [FIRES]
    assert result.downtime_avoided_min == pytest.approx(37)  # 40 min down, a restart takes ~3
    assert result.saved_usd == 0


def test_restarts_feed_the_restarts_last_hour_fact():
    spec = RuleSpec("down", conditions={"all": [{"field": "automation.restarts_last_hour", "op": "lt", "value": 2}]},
                    actions=[{"type": "restart"}], cooldown_s=0, max_per_hour=10)
    result = replay(spec, history(A, events=[down("a", T0 + minutes(m)) for m in (0, 5, 10)]))
    assert outcomes(result) == [FIRES, FIRES, NOT_MATCHED]


def _idle_samples(deployment_id: str, start: datetime, count: int, util: float, step: float = 5):
    return [SampleRow(start + minutes(i * step), deployment_id, {"gpu_util_percent": util}) for i in range(count)]


def test_idle_stop_fires_once_per_idle_stretch_and_saves_price_times_hours_until_busy_again():
    samples = _idle_samples("a", T0, 31, 1.0) + _idle_samples("a", T0 + minutes(180), 3, 80.0)
    spec = RuleSpec("idle", trigger_params={"threshold_percent": 5, "minutes": 30}, actions=[{"type": "stop"}])
    result = replay(spec, history(A, samples=samples))
    assert outcomes(result) == [FIRES]
    row = result.rows[0]
    assert row.at == T0 + minutes(30)
    # Stopped at +30 min, needed again (busy) at +180 min: 2.5 h × $2.00.
    assert row.estimate.saved_usd == pytest.approx(5.0) and result.saved_usd == pytest.approx(5.0)
    assert "needed again" in row.estimate.notes[0]


def test_idle_needs_contiguous_samples_a_gap_resets_the_stretch():
    samples = _idle_samples("a", T0, 4, 1.0) + _idle_samples("a", T0 + minutes(40), 4, 1.0)
    spec = RuleSpec("idle", trigger_params={"threshold_percent": 5, "minutes": 30}, actions=[{"type": "stop"}])
    assert replay(spec, history(A, samples=samples)).rows == []


def test_a_stop_counts_only_hours_it_actually_ran_and_skips_later_triggers_while_off():
    statuses = [StatusRow(T0 + timedelta(hours=2), "a", "running", "stopped")]
    events = [down("a", T0), down("a", T0 + timedelta(hours=1))]
    spec = RuleSpec("down", actions=[{"type": "stop"}], cooldown_s=0)
    result = replay(spec, history(A, events=events, statuses=statuses))
    assert outcomes(result) == [FIRES, ALREADY_OFF]
    assert result.saved_usd == pytest.approx(4.0)  # someone stopped it 2 h later anyway


def test_scheduled_nightly_stop_saves_the_hours_until_someone_starts_it_again():
    actions = [ActionRow(datetime(2026, 3, d, 8, 0, tzinfo=UTC), "a", "start") for d in range(4, 11)]
    spec = RuleSpec("schedule", trigger_params={"cron": "0 20 * * *", "timezone": "UTC"}, actions=[{"type": "stop"}])
    result = replay(spec, history(A, actions=actions))
    assert result.fired == 7 and {row.at.hour for row in result.rows} == {20}
    assert result.saved_usd == pytest.approx(7 * 12 * 2.0)  # 20:00 to 08:00, seven nights, $2.00/h


def test_a_night_nobody_ends_runs_to_the_end_of_the_window_and_later_times_are_skipped():
    spec = RuleSpec("schedule", trigger_params={"cron": "0 20 * * *", "timezone": "UTC"}, actions=[{"type": "stop"}])
    result = replay(spec, history(A))
    assert outcomes(result) == [FIRES] + [ALREADY_OFF] * 6
    assert result.saved_usd == pytest.approx(2.0 * (7 * 24 - 8))  # from the first 20:00 to the end


def _prices(model, provider, price, moments, spot=False):
    return [PriceRow(at, model, provider, spot, price) for at in moments]


def test_price_change_migrate_saves_the_difference_for_the_remaining_hours():
    moments = [END - timedelta(hours=10) + minutes(15 * i) for i in range(3)]
    spec = RuleSpec("price_change", trigger_params={"min_saving_percent": 20, "minutes": 30},
                    actions=[{"type": "migrate", "min_saving_percent": 20}])
    result = replay(spec, history(A, prices=_prices("h100-sxm", "lambda", 1.2, moments)))
    assert outcomes(result) == [FIRES] and result.rows[0].at == moments[2]
    assert result.saved_usd == pytest.approx(0.8 * 9.5)


def test_migrate_does_not_move_for_a_saving_under_its_minimum():
    moments = [END - timedelta(hours=10) + minutes(15 * i) for i in range(3)]
    spec = RuleSpec("price_change", trigger_params={"min_saving_percent": 5, "minutes": 30},
                    actions=[{"type": "migrate", "min_saving_percent": 30}])
    result = replay(spec, history(A, prices=_prices("h100-sxm", "lambda", 1.8, moments)))
    assert result.fired == 1 and result.saved_usd == 0
    assert "would not move" in result.rows[0].estimate.notes[0]


def test_price_below_fires_on_crossing_and_again_only_after_going_above():
    points = (_prices("h100-sxm", "vast", 2.5, [T0]) + _prices("h100-sxm", "vast", 1.9, [T0 + minutes(10)])
              + _prices("h100-sxm", "vast", 1.8, [T0 + minutes(20)]) + _prices("h100-sxm", "vast", 2.2, [T0 + minutes(30)])
              + _prices("h100-sxm", "vast", 1.95, [T0 + minutes(40)]))
    spec = RuleSpec("price_below", trigger_params={"gpu_model": "h100-sxm", "price": 2.0},
                    actions=[{"type": "notify", "channels": []}])
    result = replay(spec, history(A, prices=points))
    assert [row.at for row in result.rows] == [T0 + minutes(10), T0 + minutes(40)]
    assert all(row.deployment_id is None for row in result.rows)  # notify only: once for the workspace


def test_cost_threshold_per_day_estimates_when_in_the_day_it_crossed_and_overspend_avoided():
    day = (T0 + timedelta(days=1)).date()
    spend = [SpendRow(day, "a", 48.0), SpendRow(day - timedelta(days=1), "a", 10.0)]
    spec = RuleSpec("cost_threshold", trigger_params={"usd": 12.0, "period": "day"}, actions=[{"type": "stop"}])
    result = replay(spec, history(A, spend=spend))
    assert outcomes(result) == [FIRES]
    crossed = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)  # 12 of 48 spent
    assert result.rows[0].at == crossed
    assert "overspend avoided" in result.rows[0].estimate.notes[0]


def test_failover_weighs_downtime_avoided_against_the_other_providers_price():
    flips = [FlipRow(1, END - timedelta(hours=2), "a", "up", "down"), FlipRow(2, END - timedelta(hours=1), "a", "down", "up")]
    prices = _prices("h100-sxm", "lambda", 2.5, [END - timedelta(hours=3)])
    result = replay(RuleSpec("down", actions=[{"type": "failover"}]), history(A, flips=flips, prices=prices))
    row = result.rows[0]
    assert row.estimate.downtime_avoided_min == pytest.approx(55)
    assert row.estimate.saved_usd < 0 and result.extra_cost_usd > 0  # dearer elsewhere: said so


def test_capped_rule_escalates_once_per_hour_and_a_stop_ends_it():
    events = [down("a", T0 + minutes(m)) for m in (0, 5, 10, 15, 20)]
    spec = RuleSpec("down", actions=[{"type": "restart"}], escalation=[{"type": "stop"}], cooldown_s=0, max_per_hour=2)
    result = replay(spec, history(A, events=events))
    assert outcomes(result) == [FIRES, FIRES, "escalates", ALREADY_OFF, ALREADY_OFF]
    assert result.rows[2].actions == [{"type": "stop"}] and result.rows[2].estimate.saved_usd > 0


def test_event_type_fact_tells_still_down_from_down():
    events = [down("a", T0), EventRow(T0 + minutes(3), "still_down", "a", "Still down", "still:1")]
    spec = RuleSpec("down", conditions={"all": [{"field": "event.type", "op": "eq", "value": "still_down"}]},
                    actions=[{"type": "failover"}])
    assert outcomes(replay(spec, history(A, events=events))) == [NOT_MATCHED, FIRES]


def test_price_below_counts_spot_and_other_providers_only_when_asked():
    points = _prices("h100-sxm", "vast", 1.5, [T0], spot=True) + _prices("h100-sxm", "lambda", 1.8, [T0 + minutes(5)])
    on_demand = RuleSpec("price_below", trigger_params={"gpu_model": "h100-sxm", "price": 1.6},
                         actions=[{"type": "notify"}])
    assert replay(on_demand, history(A, prices=list(points))).rows == []
    with_spot = RuleSpec("price_below", trigger_params={"gpu_model": "h100-sxm", "price": 1.6, "include_spot": True},
                         actions=[{"type": "notify"}])
    assert [row.at for row in replay(with_spot, history(A, prices=list(points))).rows] == [T0]
    lambda_only = RuleSpec("price_below", trigger_params={"gpu_model": "h100-sxm", "price": 1.9, "provider": "lambda"},
                           actions=[{"type": "notify"}])
    assert [row.at for row in replay(lambda_only, history(A, prices=list(points))).rows] == [T0 + minutes(5)]


def test_restart_without_a_recorded_recovery_claims_no_downtime_avoided():
    result = replay(RuleSpec("down", actions=[{"type": "restart"}]), history(A, events=[down("a", T0)]))
    assert result.fired == 1 and result.downtime_avoided_min == 0
    assert "unknown" in result.rows[0].estimate.notes[0]
