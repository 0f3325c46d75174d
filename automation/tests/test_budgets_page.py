"""The budgets page: spend today / this month / per deployment, budgets with progress bars coloured
by state, the create form with inline field errors (HTMX), delete; Viewers read only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from automation.models import Budget
from automation.tests.factories_budgets import budget_for
from deployments.tests.factories import DeploymentFactory

PAGE = reverse("automation:budgets")
CREATE = reverse("automation:budget-create")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def deployment(team):
    """$10/h for the last 54 minutes: $9 spent (90% of a $10 budget)."""
    return DeploymentFactory(workspace=team["workspace"], name="llama-serve", price_per_hour=10.0,
                             running_since=timezone.now() - timedelta(minutes=54))


def test_the_page_shows_spend_and_each_budget_coloured_by_its_state(team, client_in, deployment):
    budget_for(team["workspace"], deployment=deployment, limit_usd="10.00")
    budget_for(team["workspace"], deployment=deployment, limit_usd="5.00")
    budget_for(team["workspace"], limit_usd="1000.00")
    page = client_in(team["viewer"], team["workspace"]).get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-spend="total">$9.0' in html and "llama-serve" in html
    assert "budget-bar-fill--warning" in html and "budget-bar-fill--reached" in html
    assert "budget-bar-fill--ok" in html and "The whole workspace" in html
    assert "Add budget" not in html  # a Viewer sees no form


def test_a_budget_is_added_from_the_form(team, client_in, deployment):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(CREATE, {"deployment": str(deployment.pk), "period": "day", "limit_usd": "25",
                                    "warn_percent": "80"}, **HTMX)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == PAGE
    budget = Budget.objects.get()
    assert (budget.deployment, budget.period, budget.limit_usd) == (deployment, "day", 25)
    assert "$25.00" in client.get(PAGE).content.decode()


@pytest.mark.parametrize("data, message", [
    ({"deployment": "", "period": "month", "limit_usd": "0", "warn_percent": "80"},
     "The limit must be more than $0.00."),
    ({"deployment": "", "period": "month", "limit_usd": "-4", "warn_percent": "80"},
     "The limit must be more than $0.00."),
    ({"deployment": "", "period": "day", "limit_usd": "10", "warn_percent": "80"},
     "A workspace budget is per month."),
    ({"deployment": "", "period": "month", "limit_usd": "10", "warn_percent": "120"},
     "Enter a whole percentage between 1 and 99."),
])
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_stored(team, client_in, data, message):
    response = client_in(team["developer"], team["workspace"]).post(CREATE, data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 422 and 'id="budget-form"' in html
    assert f'<p class="field-error">{message}</p>' in html
    assert not Budget.objects.exists()


def test_another_workspaces_deployment_cannot_be_chosen(team, other_team, client_in):
    foreign = DeploymentFactory(workspace=other_team["workspace"])
    response = client_in(team["developer"], team["workspace"]).post(
        CREATE, {"deployment": str(foreign.pk), "period": "total", "limit_usd": "10", "warn_percent": "80"}, **HTMX)
    assert response.status_code == 422 and "field-error" in response.content.decode()
    assert not Budget.objects.exists()


def test_delete_removes_the_row(team, client_in):
    budget = budget_for(team["workspace"])
    url = reverse("automation:budget-delete", kwargs={"budget_id": budget.pk})
    response = client_in(team["developer"], team["workspace"]).post(url, **HTMX)
    assert response.status_code == 200 and not Budget.objects.exists()


def test_viewers_cannot_write_and_other_workspaces_budgets_are_not_found(team, other_team, client_in):
    budget = budget_for(team["workspace"])
    foreign = budget_for(other_team["workspace"])
    viewer = client_in(team["viewer"], team["workspace"])
    assert viewer.post(CREATE, {"period": "month", "limit_usd": "5", "warn_percent": "80"}).status_code == 403
    assert viewer.post(reverse("automation:budget-delete", kwargs={"budget_id": budget.pk})).status_code == 403
    developer = client_in(team["developer"], team["workspace"])
    assert developer.post(reverse("automation:budget-delete", kwargs={"budget_id": foreign.pk})).status_code == 404
    assert Budget.objects.count() == 2
