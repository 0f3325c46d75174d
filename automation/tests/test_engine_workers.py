"""Three workers at once: each event is acted on once (one RuleRun, one restart), whoever wins.
On PostgreSQL the workers are real threads with their own connections; SQLite serialises writers,
so there the three claim in turn before any of them processes (the interleaving that matters)."""

import pytest
from django.db import connection

from automation.engine import process_events
from automation.engine.processor import claim_events, handle_event
from automation.models import AutomationEvent, RuleRun
from automation.tests.concurrency import run_concurrently
from automation.tests.factories_rules import deployment_with_health, event, rule
from deployments.models import DeploymentEvent, EventKind

EVENTS = 6


pytestmark = pytest.mark.usefixtures("no_task_queue")


def _threads(count: int) -> list[int]:
    done, errors = run_concurrently(process_events, count)
    assert errors == []
    return done


def _interleaved(count: int) -> list[int]:
    held = [claim_events() for _ in range(count)]
    for events in held:
        for one in events:
            handle_event(one)
    return [len(events) for events in held]


@pytest.mark.django_db(transaction=True)
def test_three_workers_act_once_per_event(team):
    workspace = team["workspace"]
    rule(workspace)
    deployments = [deployment_with_health(workspace) for _ in range(EVENTS)]
    for deployment in deployments:
        event(workspace, "down", deployment)
    handled = _threads(3) if connection.vendor == "postgresql" else _interleaved(3)
    assert sum(handled) == EVENTS
    assert RuleRun.objects.count() == EVENTS
    restarts = DeploymentEvent.objects.filter(kind=EventKind.ACTION, data__action="restart")
    assert sorted(restarts.values_list("deployment_id", flat=True)) == sorted(d.pk for d in deployments)
    assert not AutomationEvent.objects.filter(processed_at__isnull=True).exists()
