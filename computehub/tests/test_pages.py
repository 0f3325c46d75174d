"""The app shell and the pages that belong to no single app: dashboard, section placeholders, errors."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory

SECTION_PAGES = ["dashboard", "pricing:index", "deployments:index", "automation:index", "providers:index", "billing:index"]


@pytest.mark.parametrize("name", SECTION_PAGES)
def test_section_pages_render_for_a_viewer(client_in, team, name):
    response = client_in(team["viewer"], team["workspace"]).get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'aria-current="page"' in html  # the current section is highlighted in the nav
    assert "Acme ML" in html  # the switcher shows the current workspace


@pytest.mark.parametrize("name", SECTION_PAGES)
def test_section_pages_send_anonymous_visitors_to_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={url}"


def test_nav_highlights_only_the_current_section(client_in, team):
    html = client_in(team["viewer"], team["workspace"]).get(reverse("pricing:index")).content.decode()
    assert html.count('aria-current="page"') == 1
    assert f'<a href="{reverse("pricing:index")}" aria-current="page">Prices</a>' in html


def test_base_layout_carries_csrf_for_htmx_toasts_and_scripts(client_in, team):
    html = client_in(team["admin"], team["workspace"]).get(reverse("dashboard")).content.decode()
    assert "hx-headers='{\"X-CSRFToken\": \"" in html
    assert '<div id="toasts" class="toasts" aria-live="polite">' in html
    assert "js/toasts.js" in html and "django_htmx/htmx-2.min.js" in html
    assert 'action="/accounts/logout/"' in html  # log out is a POST form


def test_dashboard_greets_and_shows_empty_states(client_in, team):
    html = client_in(team["developer"], team["workspace"]).get(reverse("dashboard")).content.decode()
    assert "Acme ML" in html and "Developer" in html
    for title in ("GPUs &amp; prices", "Deployments", "Spend this month", "Alerts"):
        assert title in html
    for next_step in ("Connect a provider", "Compare prices", "Launch a deployment", "Set a budget rule"):
        assert next_step in html


def test_switcher_lists_only_my_workspaces_with_the_current_one_selected(client_in, team, other_team):
    MembershipFactory(workspace=other_team["workspace"], user=team["viewer"], role=Role.VIEWER)
    html = client_in(team["viewer"], team["workspace"]).get(reverse("dashboard")).content.decode()
    assert f'<option value="{team["workspace"].slug}" selected>Acme ML</option>' in html
    assert f'<option value="{other_team["workspace"].slug}">Other Co</option>' in html
    assert "New team workspace" in html


def test_unknown_page_renders_the_styled_404(client_in, team):
    response = client_in(team["viewer"], team["workspace"]).get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn" in response.content.decode() and "css/app.css" in response.content.decode()


def test_server_error_page_renders_without_a_request_context(rf):
    from computehub.views import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_dashboard_shows_offers_and_deployments_once_they_exist(client_in, team):
    from deployments.tests.factories import DeploymentFactory
    from pricing.tests.test_prices_page import make_credential, make_offer

    credential = make_credential(team["workspace"])
    make_offer(credential, gpu_model="rtx-4090", price_per_gpu_hour=0.31)
    make_offer(credential, gpu_model="h100-sxm", price_per_gpu_hour=2.49, gpu_count=8)
    DeploymentFactory(workspace=team["workspace"], credential=credential, spend_usd=1.25)
    page = client_in(team["viewer"], team["workspace"]).get("/").content.decode()
    assert "Cheapest right now: RTX-4090 at $0.31/GPU-hour on RunPod" in page
    assert "1 in all · $1.25 spent so far" in page
