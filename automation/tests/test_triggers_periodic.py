"""The autopilot's 15-second entry point: every evaluator runs, one failing never stops the
others, repeats write nothing new."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from automation.models import AutomationEvent, PriceAlert, Trigger
from automation.tests.factories_triggers import make_credential, make_offer, make_rule, readings
from automation.triggers import run_periodic_triggers
from deployments.tests.factories import DeploymentFactory


def test_every_evaluator_runs_and_a_repeat_adds_nothing(team):
    workspace = team["workspace"]
    deployment = DeploymentFactory(workspace=workspace, running_since=timezone.now() - timedelta(hours=1))
    readings(deployment, [1.0] * 25)
    make_rule(workspace, Trigger.IDLE, {"threshold_percent": 5, "minutes": 10})
    make_offer(make_credential(workspace, "vast"), gpu_model="h100-sxm", price=1.5, vram_gb=80)
    PriceAlert.objects.create(workspace=workspace, gpu_model="h100-sxm", max_price_per_hour=Decimal("2"))
    first = run_periodic_triggers()
    assert first["idle"] == 1 and first["price_alerts"] == 1
    assert {"cost_threshold", "price_change", "price_below", "schedule", "duration_ms"} <= set(first)
    second = run_periodic_triggers()
    assert [second[name] for name in ("idle", "price_alerts")] == [0, 0]
    assert AutomationEvent.objects.count() == 2


def test_one_failing_evaluator_does_not_stop_the_others(team, monkeypatch):
    def broken(now=None):
        raise RuntimeError("bug in one evaluator")
    monkeypatch.setattr("automation.triggers.idle.evaluate_idle_rules", broken)
    make_offer(make_credential(team["workspace"], "vast"), gpu_model="h100-sxm", price=1.5, vram_gb=80)
    PriceAlert.objects.create(workspace=team["workspace"], gpu_model="h100-sxm", max_price_per_hour=Decimal("2"))
    counts = run_periodic_triggers()
    assert counts["idle"] == "error" and counts["price_alerts"] == 1
