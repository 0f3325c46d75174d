"""rules/, rules/<id>/, rules/<id>/runs/, rule-runs/ and policies/ over the REST API."""

from automation.engine import process_events
from automation.models import Rule
from automation.tests.factories_rules import deployment_with_health, event, rule
from deployments.tests.factories import DeploymentFactory

RULE = {"name": "Restart on down", "trigger": "down", "actions": [{"type": "restart"}],
        "conditions": {"field": "deployment.provider", "op": "eq", "value": "runpod"}}


def test_a_developer_creates_reads_changes_and_deletes_a_rule(team, api_client_for):
    client = api_client_for(team["developer"], team["workspace"])
    created = client.post("/api/v1/rules/", RULE, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["conditions_text"] == "provider is runpod" and body["cooldown_s"] == 300
    url = f"/api/v1/rules/{body['id']}/"
    assert client.get(url).json()["name"] == "Restart on down"
    changed = client.patch(url, {"dry_run": True, "max_per_hour": 5}, format="json")
    assert changed.status_code == 200 and changed.json()["dry_run"] is True
    assert client.delete(url).status_code == 204
    assert not Rule.objects.exists()


def test_bad_input_is_a_400_naming_the_fields_and_stores_nothing(team, api_client_for):
    client = api_client_for(team["developer"], team["workspace"])
    response = client.post("/api/v1/rules/", {**RULE, "conditions": {"field": "nope", "op": "eq", "value": 1},
                                              "trigger": "schedule", "trigger_params": {"cron": "soon"}}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"conditions", "trigger_params"} <= set(fields)
    assert client.post("/api/v1/rules/", {**RULE, "colour": "red"}, format="json").status_code == 400
    assert not Rule.objects.exists()


def test_another_workspaces_rule_is_404(team, other_team, api_client_for):
    theirs = rule(other_team["workspace"])
    client = api_client_for(team["developer"], team["workspace"])
    assert client.get(f"/api/v1/rules/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/v1/rules/{theirs.pk}/", {"name": "x"}, format="json").status_code == 404
    assert client.get(f"/api/v1/rules/{theirs.pk}/runs/").status_code == 404


def test_list_filters_by_deployment(team, api_client_for):
    workspace = team["workspace"]
    deployment = DeploymentFactory(workspace=workspace)
    scoped, _ = rule(workspace, deployment=deployment), rule(workspace)
    client = api_client_for(team["viewer"], workspace)
    found = client.get(f"/api/v1/rules/?deployment={deployment.pk}").json()["results"]
    assert [item["id"] for item in found] == [scoped.pk]
    assert client.get("/api/v1/rules/").json()["count"] == 2
    assert client.get("/api/v1/rules/?deployment=not-a-uuid").status_code == 404


def test_runs_are_listed_per_rule_and_per_workspace(team, api_client_for):
    workspace = team["workspace"]
    restart = rule(workspace)
    event(workspace, "down", deployment_with_health(workspace))
    process_events()
    client = api_client_for(team["viewer"], workspace)
    [run] = client.get(f"/api/v1/rules/{restart.pk}/runs/").json()["results"]
    assert run["outcome"] == "done" and run["event"]["type"] == "down" and run["actions"][0]["type"] == "restart"
    assert client.get("/api/v1/rule-runs/").json()["count"] == 1


def test_policies_are_switched_on_and_off(team, api_client_for):
    workspace = team["workspace"]
    deployment = DeploymentFactory(workspace=workspace)
    client = api_client_for(team["developer"], workspace)
    on = client.post("/api/v1/policies/", {"slug": "auto_restart", "enabled": True, "deployment": str(deployment.pk)},
                     format="json")
    assert on.status_code == 200
    assert {item["slug"]: item["enabled"] for item in on.json()}["auto_restart"] is True
    listed = client.get(f"/api/v1/policies/?deployment={deployment.pk}").json()
    assert {item["slug"] for item in listed} == {"auto_restart", "cost_cap", "price_migration", "failover",
                                                 "spot_refill", "idle_shutdown"}
    assert client.get("/api/v1/policies/").json()[0]["enabled"] is False  # workspace scope is separate
    off = client.post("/api/v1/policies/", {"slug": "auto_restart", "enabled": False,
                                            "deployment": str(deployment.pk)}, format="json")
    assert {item["slug"]: item["enabled"] for item in off.json()}["auto_restart"] is False


def test_policy_bad_params_are_field_errors(team, api_client_for, other_team):
    client = api_client_for(team["developer"], team["workspace"])
    bad = client.post("/api/v1/policies/", {"slug": "cost_cap", "enabled": True, "params": {"limit_usd": 0}},
                      format="json")
    assert bad.status_code == 400 and "params" in bad.json()["error"]["fields"]
    theirs = DeploymentFactory(workspace=other_team["workspace"])
    elsewhere = client.post("/api/v1/policies/", {"slug": "failover", "enabled": True, "deployment": str(theirs.pk)},
                            format="json")
    assert elsewhere.status_code == 400 and "deployment" in elsewhere.json()["error"]["fields"]
    assert not Rule.objects.exists()


def test_a_viewer_cannot_write(team, api_client_for):
    client = api_client_for(team["viewer"], team["workspace"])
    assert client.post("/api/v1/rules/", RULE, format="json").status_code == 403
    assert client.post("/api/v1/policies/", {"slug": "failover", "enabled": True}, format="json").status_code == 403
