"""Triggers: turn what happens (status changes, GPU metrics, spend, prices, the clock) into
AutomationEvents for the rules engine. `on_status_change` is called by the reconciler on every
status change; `run_periodic_triggers` by the autopilot every 15 s. Every event carries a dedup
key naming the fact, so repeats and concurrent workers write nothing twice."""

import logging
import time

logger = logging.getLogger(__name__)


def _evaluators():
    # Imported here so a broken evaluator cannot stop the package (and the reconciler hook) importing.
    from automation.triggers import cost, idle, prices, schedule

    return {
        "idle": idle.evaluate_idle_rules,
        "cost_threshold": cost.evaluate_cost_rules,
        "price_change": prices.evaluate_price_change_rules,
        "price_below": prices.evaluate_price_below_rules,
        "price_alerts": prices.evaluate_price_alerts,
        "schedule": schedule.evaluate_schedule_rules,
    }


def run_periodic_triggers() -> dict:
    """Run every evaluator once (bounded work each); name → events emitted, or "error". One
    evaluator failing never keeps the others from running."""
    started, counts = time.monotonic(), {}
    for name, evaluate in _evaluators().items():
        try:
            counts[name] = evaluate()
        except Exception:
            logger.exception("trigger evaluator %s failed", name)
            counts[name] = "error"
    counts["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return counts
