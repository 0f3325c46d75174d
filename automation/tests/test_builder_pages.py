"""The rule builder over HTTP: saving a rule, errors beside the block they concern with the form
kept as typed, editing, deleting, the preview, the replay endpoint, and who may do what."""

import json
import re

import pytest

from automation.models import Rule
from automation.tests.factories_rules import channel, event, rule
from deployments.tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def post_data(**overrides) -> dict:
    data = {"name": "Idle at night", "trigger": "idle", "tp-idle-threshold_percent": "5", "tp-idle-minutes": "30",
            "conditions": json.dumps({"all": [{"field": "time.hour_utc", "op": "gte", "value": 20}]}),
            "actions": json.dumps([{"type": "stop"}]), "escalation": "[]", "cooldown_min": "10",
            "max_per_hour": "2", "dry_run": "on", "enabled": "on", "deployment": ""}
    return {**data, **overrides}


def test_developer_saves_a_new_rule_and_lands_on_the_list(team, client_in):
    client = client_in(team["developer"], team["workspace"])
    assert client.get("/automation/rules/new/").status_code == 200
    response = client.post("/automation/rules/new/", post_data())
    assert response.status_code == 302 and response["Location"] == "/automation/"
    saved = Rule.objects.get(workspace=team["workspace"])
    assert (saved.trigger, saved.trigger_params, saved.cooldown_s, saved.max_per_hour, saved.dry_run) == (
        "idle", {"threshold_percent": 5, "minutes": 30}, 600, 2, True)
    assert saved.conditions == {"all": [{"field": "time.hour_utc", "op": "gte", "value": 20}]}
    assert saved.created_by == team["developer"]


def test_refused_rule_shows_each_error_by_its_block_and_keeps_what_was_typed(team, client_in):
    bad = post_data(name="", **{"tp-idle-minutes": "0"},
                    conditions=json.dumps({"any": [{"field": "time.hour_utc", "op": "gte", "value": 20},
                                                   {"field": "deployment.gpu_count", "op": "gt", "value": "many"}]}),
                    actions=json.dumps([{"type": "stop"}, {"type": "migrate", "min_saving_percent": 500}]))
    response = client_in(team["developer"], team["workspace"]).post("/automation/rules/new/", bad)
    html = response.content.decode()
    assert response.status_code == 422 and not Rule.objects.exists()
    assert "Give the rule a name." in html
    when = html[html.index('data-block="when"'):html.index('data-block="if"')]
    assert "Must be between 1 and 1440" in when and 'name="tp-idle-minutes" value="0"' in when
    conditions = html[html.index('data-block="if"'):html.index('data-block="then"')]
    rows = conditions.split("data-cond>")[1:]
    assert len(rows) == 2 and "Expected a number." in rows[1] and "field-error" not in rows[0]
    assert 'value="any" checked' in conditions and 'value="many"' in rows[1]
    then = html[html.index('data-block="then"'):]
    action_rows = then.split("data-action-row>")[1:]
    assert "min saving percent: Must be between 1 and 90." in action_rows[1] and "field-error" not in action_rows[0]
    assert 'name="cooldown_min" type="number" min="0" step="any" inputmode="decimal" value="10"' in html


def test_edit_updates_the_rule_and_shows_it_filled(team, client_in):
    ws = team["workspace"]
    llama = DeploymentFactory(workspace=ws, name="llama")
    ops = channel(ws)
    existing = rule(ws, name="Down", actions=[{"type": "restart"}, {"type": "notify", "channels": [str(ops.pk)]}])
    client = client_in(team["developer"], ws)
    html = client.get(f"/automation/rules/{existing.pk}/").content.decode()
    assert 'value="Down"' in html and "restart it and notify email channel (Email)" in html
    response = client.post(f"/automation/rules/{existing.pk}/", post_data(name="Down, llama only", trigger="down",
                                                                          deployment=str(llama.pk), conditions="{}"))
    assert response.status_code == 302
    existing.refresh_from_db()
    assert (existing.name, existing.trigger, existing.deployment, existing.conditions) == ("Down, llama only", "down", llama, {})


def test_delete_removes_the_rule(team, client_in):
    existing = rule(team["workspace"])
    response = client_in(team["admin"], team["workspace"]).post(f"/automation/rules/{existing.pk}/delete/")
    assert response.status_code == 302 and not Rule.objects.filter(pk=existing.pk).exists()


def test_viewer_reads_a_rule_but_cannot_create_change_or_delete(team, client_in):
    existing = rule(team["workspace"], name="Keep")
    client = client_in(team["viewer"], team["workspace"])
    assert client.get("/automation/rules/new/").status_code == 403
    assert client.post("/automation/rules/new/", post_data()).status_code == 403
    html = client.get(f"/automation/rules/{existing.pk}/").content.decode()
    assert "<fieldset class=\"builder-body\" disabled>" in html and "Save rule" not in html and "Delete rule" not in html
    assert client.post(f"/automation/rules/{existing.pk}/", post_data(name="Changed")).status_code == 403
    assert client.post(f"/automation/rules/{existing.pk}/delete/").status_code == 403
    existing.refresh_from_db()
    assert existing.name == "Keep"


def test_another_workspaces_rule_is_a_404(team, other_team, client_in):
    theirs = rule(other_team["workspace"], name="Theirs")
    client = client_in(team["admin"], team["workspace"])
    for url in (f"/automation/rules/{theirs.pk}/", f"/automation/rules/{theirs.pk}/delete/"):
        assert client.post(url, post_data()).status_code == 404
    assert client.get(f"/automation/rules/{theirs.pk}/").status_code == 404
    assert Rule.objects.get(pk=theirs.pk).name == "Theirs"


def test_preview_describes_the_unsaved_rule_and_lists_what_is_missing(team, client_in):
    client = client_in(team["viewer"], team["workspace"])  # a preview writes nothing
    html = client.post("/automation/rules/preview/", post_data(actions="[]")).content.decode()
    assert "When any deployment has GPU utilisation below 5% for 30 minutes, if hour of day (UTC) is at least 20" in html
    assert "Then: Expected 1 to 10 actions." in html
    assert "Dry run" in html


def test_replay_endpoint_shows_would_have_fired_rows_over_recorded_events(team, client_in):
    ws = team["workspace"]
    llama = DeploymentFactory(workspace=ws, name="llama")
    event(ws, "down", deployment=llama)
    data = post_data(trigger="down", conditions="{}", actions=json.dumps([{"type": "restart"}]))
    html = client_in(team["developer"], ws).post("/automation/rules/replay/", data, HTTP_HX_REQUEST="true").content.decode()
    assert "Would have fired 1 time" in html
    assert re.search(r'data-outcome="fires".*?llama.*?Restart it', html, re.S)
    assert "How this is worked out" in html


def test_replay_endpoint_says_what_to_finish_instead_of_failing(team, client_in):
    data = post_data(conditions=json.dumps({"all": [{"field": "nope", "op": "eq", "value": 1}]}))
    response = client_in(team["developer"], team["workspace"]).post("/automation/rules/replay/", data)
    assert response.status_code == 200 and "Finish the rule to test it" in response.content.decode()
    assert "Unknown field" in response.content.decode()
