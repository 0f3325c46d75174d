"""The health API and page fragment: what they show, validation with field errors and nothing
stored, Viewers read but cannot change, another workspace's deployment is a 404."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from automation.models import Flip, HealthCheck, HealthState, ProbeKind
from automation.tests.factories_health import HealthCheckFactory
from computehub.tests.api_helpers import assert_error
from deployments.models import DeploymentEvent, EventKind
from deployments.tests.factories import DeploymentFactory, TemplateFactory


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"], ports=[8000, 9000],
                             template=TemplateFactory(workspace=team["workspace"], health_path="/healthz"))


def _api(deployment):
    return reverse("api-deployment-health", kwargs={"deployment_id": deployment.pk})


def _page(deployment):
    return reverse("automation:deployment-health", kwargs={"deployment_id": deployment.pk})


def test_get_creates_the_default_probe_from_the_template(team, deployment, api_client_for):
    body = api_client_for(team["viewer"], team["workspace"]).get(_api(deployment)).json()
    assert (body["kind"], body["path"], body["port"], body["interval_s"]) == ("http", "/healthz", 8000, 30)
    assert body["state"] == "new" and body["uptime_24h"] is None and "GET /healthz on port 8000" in body["probe"]


def test_get_shows_uptime_and_the_last_result(team, deployment, api_client_for):
    now = timezone.now()
    check = HealthCheckFactory(workspace=team["workspace"], deployment=deployment, state=HealthState.UP,
                               last_checked_at=now, last_result="ok", last_latency_ms=12.5)
    HealthCheck.objects.filter(pk=check.pk).update(created_at=now - timedelta(days=3))
    Flip.objects.create(health_check=check, deployment=deployment, old_state="up", new_state="down",
                        created_at=now - timedelta(hours=6))
    Flip.objects.create(health_check=check, deployment=deployment, old_state="down", new_state="up",
                        created_at=now - timedelta(hours=6) + timedelta(minutes=72))
    body = api_client_for(team["viewer"], team["workspace"]).get(_api(deployment)).json()
    assert body["uptime_24h"] == pytest.approx(95.0, abs=0.01)
    assert body["uptime_7d"] == pytest.approx(100 - 1.2 / 72 * 100, abs=0.01)  # monitored for 3 days
    assert body["last_result"] == "ok" and body["last_latency_ms"] == 12.5


def test_developer_changes_the_probe_and_the_timeline_says_so(team, deployment, api_client_for):
    client = api_client_for(team["developer"], team["workspace"])
    response = client.patch(_api(deployment), {"kind": "tcp", "port": 9000, "interval_s": 60, "timeout_s": 2.5,
                                               "migratable": True}, format="json")
    assert response.status_code == 200, response.content
    check = HealthCheck.objects.get(deployment=deployment)
    assert (check.kind, check.port, check.interval_s, check.timeout_s, check.migratable) == (
        ProbeKind.TCP, 9000, 60, 2.5, True)
    entry = DeploymentEvent.objects.filter(deployment=deployment, kind=EventKind.AUTOMATION).last()
    assert entry.message.startswith("Health check changed") and entry.actor == team["developer"]


@pytest.mark.parametrize("data,field", [
    ({"port": 1234}, "port"), ({"kind": "tcp", "port": 22}, "port"), ({"path": "health"}, "path"),
    ({"interval_s": 5}, "interval_s"), ({"interval_s": 4000}, "interval_s"), ({"timeout_s": 0.1}, "timeout_s"),
    ({"timeout_s": 11}, "timeout_s"), ({"kind": "ping"}, "kind"), ({"enabled": "yes"}, "enabled"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_names_the_field_and_stores_nothing(team, deployment, api_client_for, data, field):
    client = api_client_for(team["admin"], team["workspace"])
    before = client.get(_api(deployment)).json()
    error = assert_error(client.patch(_api(deployment), data, format="json"), 400)
    assert field in error["fields"], error
    assert client.get(_api(deployment)).json() == before


def test_a_deployment_without_ports_can_only_use_the_provider_status(team, api_client_for):
    bare = DeploymentFactory(workspace=team["workspace"], ports=[])
    client = api_client_for(team["admin"], team["workspace"])
    assert client.get(_api(bare)).json()["kind"] == "provider"
    error = assert_error(client.patch(_api(bare), {"kind": "http"}, format="json"), 400)
    assert "exposes no ports" in error["fields"]["port"][0]


def test_viewer_cannot_patch_and_strangers_get_404(team, other_team, deployment, api_client_for):
    viewer = api_client_for(team["viewer"], team["workspace"])
    assert_error(viewer.patch(_api(deployment), {"interval_s": 60}, format="json"), 403)
    stranger = api_client_for(other_team["admin"], other_team["workspace"])
    assert_error(stranger.get(_api(deployment)), 404)
    assert_error(stranger.patch(_api(deployment), {"interval_s": 60}, format="json"), 404)
    assert HealthCheck.objects.filter(deployment=deployment, interval_s=60).count() == 0


def test_turning_checks_off_ends_the_state_with_a_flip(team, deployment, api_client_for):
    HealthCheckFactory(workspace=team["workspace"], deployment=deployment, state=HealthState.DOWN,
                       consecutive_failures=4)
    client = api_client_for(team["admin"], team["workspace"])
    body = client.patch(_api(deployment), {"enabled": False}, format="json").json()
    assert body["state"] == "new" and body["enabled"] is False and body["consecutive_failures"] == 0
    assert Flip.objects.get().new_state == HealthState.NEW


# --- the page fragment ------------------------------------------------------------------------------


def test_fragment_shows_state_uptime_and_probe_with_the_form_for_developers(team, deployment, client_in):
    page = client_in(team["developer"], team["workspace"]).get(_page(deployment), HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-health="new"' in html
    assert "HTTP GET /healthz on port 8000 every 30 s" in html and "Uptime 24 h" in html
    assert 'hx-post="' in html and 'name="interval_s"' in html


def test_fragment_has_no_form_for_viewers_and_refuses_their_post(team, deployment, client_in):
    viewer = client_in(team["viewer"], team["workspace"])
    html = viewer.get(_page(deployment)).content.decode()
    assert "Uptime 24 h" in html and 'name="interval_s"' not in html
    assert viewer.post(_page(deployment), {"kind": "tcp", "port": 8000}).status_code == 403


def test_fragment_of_another_workspace_is_404(team, other_team, deployment, client_in):
    assert client_in(other_team["admin"], other_team["workspace"]).get(_page(deployment)).status_code == 404


def _form(**overrides):
    return {"kind": "http", "path": "/healthz", "port": "8000", "interval_s": "30", "timeout_s": "10",
            "enabled": "on"} | overrides


def test_form_errors_are_shown_inline_and_nothing_changes(team, deployment, client_in):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(_page(deployment), _form(path="healthz", interval_s="2"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 422 and "field-error" in html
    assert "Ensure this value is greater than or equal to 10" in html
    response = client.post(_page(deployment), _form(path="healthz"), HTTP_HX_REQUEST="true")
    assert response.status_code == 422 and "A path starting with /" in response.content.decode()
    assert HealthCheck.objects.get(deployment=deployment).path == "/healthz"


def test_form_saves_and_swaps_in_the_new_probe(team, deployment, client_in):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(_page(deployment), _form(kind="tcp", port="9000", interval_s="45"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "Health check saved" in html
    assert "TCP connect to port 9000 every 45 s" in html
