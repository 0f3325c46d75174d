"""The Automation page and the built-in policy switches: rules in plain words with their state and
last run, recent runs, one-click policies for the workspace and per deployment, and who may
switch them (Viewers see, do not touch; another workspace's deployment is a 404)."""

import pytest
from django.utils import timezone

from automation.models import Budget, Rule, RuleRun
from automation.policies import policies_state
from automation.tests.factories_rules import rule
from deployments.tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def test_empty_page_explains_rules_and_links_every_automation_page(team, client_in):
    html = client_in(team["developer"], team["workspace"]).get("/automation/").content.decode()
    assert "No rules yet" in html and "test it against the last 7 days" in html
    assert "Nothing yet" in html  # no runs
    for path in ("/automation/channels/", "/automation/budgets/", "/automation/jobs/", "/automation/price-alerts/"):
        assert f'href="{path}"' in html
    assert 'href="/automation/rules/new/"' in html


def test_rules_are_listed_in_plain_words_with_state_and_last_run(team, client_in):
    ws = team["workspace"]
    llama = DeploymentFactory(workspace=ws, name="llama")
    idle = rule(ws, name="Idle nights", trigger="idle", trigger_params={"threshold_percent": 5, "minutes": 30},
                conditions={"all": [{"field": "time.hour_utc", "op": "gte", "value": 20}]},
                actions=[{"type": "stop"}], dry_run=True, deployment=llama)
    rule(ws, name="Paused", enabled=False)
    RuleRun.objects.create(rule=idle, workspace=ws, deployment=llama, rule_name=idle.name, trigger="idle",
                           outcome="dry_run", detail="Would stop llama", dry_run=True,
                           started_at=timezone.now(), duration_ms=12)
    html = client_in(team["viewer"], team["workspace"]).get("/automation/").content.decode()
    assert "When “llama” has GPU utilisation below 5% for 30 minutes</strong>, if hour of day (UTC) is at least 20, then stop it." in html
    assert "Dry run" in html and ">Off<" in html
    assert "Last run" in html and "Would stop llama" in html and "12 ms" in html
    assert f'href="/automation/rules/{idle.pk}/"' in html


def test_other_workspaces_rules_and_runs_are_not_shown(team, other_team, client_in):
    rule(other_team["workspace"], name="Their secret rule")
    html = client_in(team["admin"], team["workspace"]).get("/automation/").content.decode()
    assert "Their secret rule" not in html


def test_developer_switches_a_workspace_policy_on_and_off_in_place(team, client_in):
    client = client_in(team["developer"], team["workspace"])
    response = client.post("/automation/policies/idle_shutdown/", {"enable": "1", "p-idle_shutdown-threshold_percent": "7",
                                                                   "p-idle_shutdown-minutes": "45"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div class="policy-grid" id="policies-workspace"')
    created = Rule.objects.get(workspace=team["workspace"], policy="idle_shutdown", deployment=None)
    assert created.trigger_params == {"threshold_percent": 7, "minutes": 45}
    assert 'value="45"' in html  # the card shows what it runs with now
    client.post("/automation/policies/idle_shutdown/", {"enable": "0"}, HTTP_HX_REQUEST="true")
    assert policies_state(workspace=team["workspace"])["idle_shutdown"] is False


def test_viewer_sees_policy_state_without_switches_and_cannot_post(team, client_in):
    client = client_in(team["viewer"], team["workspace"])
    html = client.get("/automation/").content.decode()
    assert "Auto-restart" in html and ">Switch on</button>" not in html and ">New rule</a>" not in html
    assert client.post("/automation/policies/auto_restart/", {"enable": "1"}).status_code == 403
    assert not Rule.objects.filter(workspace=team["workspace"]).exists()


def test_deployment_policies_fragment_toggles_with_params_and_shows_errors(team, client_in):
    deployment = DeploymentFactory(workspace=team["workspace"], name="llama")
    url = f"/automation/deployments/{deployment.pk}/policies/"
    client = client_in(team["developer"], team["workspace"])
    html = client.get(url).content.decode()
    assert f'id="policies-{deployment.pk}"' in html and "Cost cap" in html and "<html" not in html
    assert ">Switch on</button>" in html
    refused = client.post(url, {"slug": "cost_cap", "enable": "1", "p-cost_cap-limit_usd": "0"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 422 and "limit_usd" in refused.content.decode()
    assert not Budget.objects.filter(deployment=deployment).exists()
    ok = client.post(url, {"slug": "cost_cap", "enable": "1", "p-cost_cap-limit_usd": "25", "p-cost_cap-period": "day",
                           "p-cost_cap-action": "stop"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and 'value="25"' in ok.content.decode()
    assert float(Budget.objects.get(deployment=deployment).limit_usd) == 25
    assert policies_state(workspace=team["workspace"], deployment=deployment)["cost_cap"] is True
    assert policies_state(workspace=team["workspace"])["cost_cap"] is False  # only this deployment


def test_deployment_policies_viewer_403_and_other_workspace_404(team, other_team, client_in):
    deployment = DeploymentFactory(workspace=team["workspace"])
    url = f"/automation/deployments/{deployment.pk}/policies/"
    viewer = client_in(team["viewer"], team["workspace"])
    assert viewer.get(url).status_code == 200 and ">Switch on</button>" not in viewer.get(url).content.decode()
    assert viewer.post(url, {"slug": "auto_restart", "enable": "1"}).status_code == 403
    stranger = client_in(other_team["admin"], other_team["workspace"])
    assert stranger.get(url).status_code == 404
    assert stranger.post(url, {"slug": "auto_restart", "enable": "1"}).status_code == 404
    assert not Rule.objects.exists()
