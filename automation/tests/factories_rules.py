"""Rows the rules tests need: deployments with a health check, rules, channels, events."""

import itertools

from automation.events import event_emit
from automation.models import ChannelKind, HealthCheck, HealthState, NotificationChannel, Rule, Trigger
from deployments.models import DeploymentEvent, EventKind
from deployments.tests.factories import DeploymentFactory

_keys = itertools.count(1)


def deployment_with_health(workspace, state=HealthState.DOWN, **fields):
    deployment = DeploymentFactory(workspace=workspace, **fields)
    HealthCheck.objects.create(deployment=deployment, workspace=workspace, state=state, consecutive_failures=3)
    return deployment


def rule(workspace, **fields) -> Rule:
    values = {"name": "Restart when down", "trigger": Trigger.DOWN, "actions": [{"type": "restart"}],
              "cooldown_s": 60, "max_per_hour": 3, **fields}
    return Rule.objects.create(workspace=workspace, **values)


def channel(workspace, kind=ChannelKind.EMAIL, **fields) -> NotificationChannel:
    config = {"url": "https://hooks.example.com/x"} if kind == ChannelKind.WEBHOOK else {"addresses": ["a@b.c"]}
    return NotificationChannel.objects.create(workspace=workspace, kind=kind, name=f"{kind} channel",
                                              config=config, **fields)


def event(workspace, type="down", deployment=None, data=None):
    return event_emit(workspace=workspace, type=type, dedup_key=f"test:{next(_keys)}", summary=f"{type} event",
                      deployment=deployment, data=data)


def restarts(deployment) -> int:
    """How many restarts automation asked for on this deployment (its timeline's action rows)."""
    return DeploymentEvent.objects.filter(deployment=deployment, kind=EventKind.ACTION, data__action="restart").count()
