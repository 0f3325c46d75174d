"""GET deployments/<id>/{logs,metrics,events}/: shapes, `after` paging, bad parameters (400 in
the shared error shape), and 404 for another workspace's deployment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from computehub.tests.api_helpers import assert_error
from deployments.logs import log_append
from deployments.metrics import metric_record
from deployments.models import DeploymentEvent
from deployments.tests.factories import DeploymentFactory


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"])


@pytest.fixture
def viewer(team, api_client_for):
    return api_client_for(team["viewer"], team["workspace"])


def url(deployment, what):
    return f"/api/v1/deployments/{deployment.pk}/{what}/"


def test_logs_after_and_limit(deployment, viewer):
    log_append(deployment=deployment, lines=[f"l{n}" for n in range(1, 8)])
    body = viewer.get(url(deployment, "logs"), {"after": 2, "limit": 3}).json()
    assert body == {"lines": [{"seq": 3, "text": "l3"}, {"seq": 4, "text": "l4"}, {"seq": 5, "text": "l5"}],
                    "next_after": 5, "has_more": True}
    body = viewer.get(url(deployment, "logs"), {"after": body["next_after"]}).json()
    assert [line["seq"] for line in body["lines"]] == [6, 7] and body["has_more"] is False


@pytest.mark.parametrize("params", [{"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 10_001}, {"aftr": 1}])
def test_bad_log_parameters_are_400(deployment, viewer, params):
    assert_error(viewer.get(url(deployment, "logs"), params), 400, "validation_error")


def test_metrics_window_and_since(deployment, viewer):
    now = timezone.now()
    metric_record(deployment=deployment, values={"cpu_percent": 5.0}, at=now - timedelta(hours=2))
    metric_record(deployment=deployment, values={"cpu_percent": 7.0}, at=now - timedelta(minutes=5))
    body = viewer.get(url(deployment, "metrics")).json()
    assert body["window"] == "1h" and [p["values"] for p in body["points"]] == [{"cpu_percent": 7.0}]
    body = viewer.get(url(deployment, "metrics"), {"window": "24h"}).json()
    assert len(body["points"]) == 2
    since = (now - timedelta(hours=3)).isoformat()
    body = viewer.get(url(deployment, "metrics"), {"since": since}).json()
    assert body["window"] is None and len(body["points"]) == 2


@pytest.mark.parametrize("params", [{"window": "7d"}, {"since": "yesterday"},
                                    {"since": "2026-01-01T00:00:00Z", "window": "1h"}])
def test_bad_metric_parameters_are_400(deployment, viewer, params):
    assert_error(viewer.get(url(deployment, "metrics"), params), 400, "validation_error")


def test_events_after_id_paginated(deployment, viewer, team):
    events = [DeploymentEvent.objects.create(deployment=deployment, kind="status", message=f"e{n}",
                                             actor=team["admin"] if n == 0 else None) for n in range(3)]
    body = viewer.get(url(deployment, "events")).json()
    assert body["count"] == 3 and body["results"][0]["actor"] == team["admin"].email
    body = viewer.get(url(deployment, "events"), {"after": events[0].pk}).json()
    assert [e["message"] for e in body["results"]] == ["e1", "e2"]
    assert_error(viewer.get(url(deployment, "events"), {"after": "-3"}), 400, "validation_error")


@pytest.mark.parametrize("what", ["logs", "metrics", "events"])
def test_another_workspaces_deployment_is_404(deployment, other_team, api_client_for, what):
    stranger = api_client_for(other_team["admin"], other_team["workspace"])
    assert_error(stranger.get(url(deployment, what)), 404)
