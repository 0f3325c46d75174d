"""The budgets API: create, list with live progress, change, delete; bad input in the shared
error shape with nothing stored; other workspaces' budgets are 404, a Viewer's writes 403."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from automation.models import Budget
from automation.tests.factories_budgets import budget_for
from computehub.tests.api_helpers import assert_error
from deployments.tests.factories import DeploymentFactory

LIST = reverse("api-budget-list")


def _detail(budget) -> str:
    return reverse("api-budget-detail", kwargs={"budget_id": budget.pk})


@pytest.fixture
def deployment(team):
    """$10/h for the last 48 minutes: $8 spent."""
    return DeploymentFactory(workspace=team["workspace"], price_per_hour=10.0,
                             running_since=timezone.now() - timedelta(minutes=48))


def test_a_deployment_budget_is_created_and_shows_its_progress(developer_api, deployment):
    response = developer_api.post(LIST, {"deployment": str(deployment.pk), "period": "total", "limit_usd": 10},
                                  format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["deployment"], body["deployment_name"], body["period"], body["limit_usd"], body["warn_percent"]) == (
        str(deployment.pk), deployment.name, "total", 10.0, 80)
    assert body["spent_usd"] == pytest.approx(8.0, abs=0.05) and body["state"] == "warning"
    [listed] = developer_api.get(LIST).json()["results"]
    assert listed["id"] == body["id"] and listed["percent"] == pytest.approx(80, abs=0.5)


@pytest.mark.parametrize("payload, field", [
    ({"period": "month", "limit_usd": 0}, "limit_usd"),
    ({"period": "month", "limit_usd": -3}, "limit_usd"),
    ({"period": "month", "limit_usd": "NaN"}, "limit_usd"),
    ({"period": "month", "limit_usd": 1e15}, "limit_usd"),
    ({"period": "month", "limit_usd": True}, "limit_usd"),
    ({"period": "day", "limit_usd": 5}, "period"),
    ({"period": "month", "limit_usd": 5, "warn_percent": 100}, "warn_percent"),
    ({"period": "month", "limit_usd": 5, "color": "red"}, "color"),
])
def test_bad_input_names_the_field_and_stores_nothing(developer_api, payload, field):
    response = developer_api.post(LIST, payload, format="json")
    assert_error(response, 400, "validation_error")
    assert field in response.json()["error"]["fields"]
    assert not Budget.objects.exists()


def test_another_workspaces_deployment_is_a_field_error(developer_api, other_team):
    foreign = DeploymentFactory(workspace=other_team["workspace"])
    response = developer_api.post(LIST, {"deployment": str(foreign.pk), "period": "total", "limit_usd": 5},
                                  format="json")
    assert_error(response, 400, "validation_error")
    assert response.json()["error"]["fields"] == {"deployment": ["Choose a deployment of this workspace."]}
    assert not Budget.objects.exists()


def test_change_and_delete(team, developer_api):
    budget = budget_for(team["workspace"], limit_usd="100.00")
    response = developer_api.patch(_detail(budget), {"limit_usd": 250, "enabled": False}, format="json")
    assert response.status_code == 200 and response.json()["limit_usd"] == 250.0
    assert response.json()["enabled"] is False
    assert_error(developer_api.patch(_detail(budget), {"limit_usd": 0}, format="json"), 400, "validation_error")
    budget.refresh_from_db()
    assert budget.limit_usd == 250
    assert developer_api.delete(_detail(budget)).status_code == 204
    assert not Budget.objects.exists()


def test_viewers_read_but_do_not_write(team, api_client_for):
    budget = budget_for(team["workspace"])
    viewer = api_client_for(team["viewer"], team["workspace"])
    assert viewer.get(_detail(budget)).status_code == 200
    assert_error(viewer.post(LIST, {"period": "month", "limit_usd": 5}, format="json"), 403, "permission_denied")
    assert_error(viewer.delete(_detail(budget)), 403, "permission_denied")
    assert Budget.objects.count() == 1


def test_another_workspaces_budget_is_not_found(other_team, developer_api):
    foreign = budget_for(other_team["workspace"])
    assert_error(developer_api.get(_detail(foreign)), 404)
    assert_error(developer_api.delete(_detail(foreign)), 404)
    assert Budget.objects.filter(pk=foreign.pk).exists()
