"""Templates: presets after migrate (read-only), workspace CRUD, publishing, scoping, search."""

import pytest

from accounts.models import Role
from accounts.tests.factories import MembershipFactory
from computehub.tests.api_helpers import assert_error
from deployments import templates_service as service
from deployments.models import DeploymentTemplate
from deployments.presets import PRESETS
from deployments.tests.factories import TemplateFactory

URL = "/api/v1/templates/"
BODY = {"name": "My server", "image": "python:3.12-slim", "command": ["python", "-m", "http.server", "9000"],
        "local_command": ["python", "-m", "http.server", "9000"], "ports": [9000], "env": {"MODE": "demo"},
        "disk_gb": 20, "min_vram_gb": 8, "health_path": "/"}


def _preset(slug):
    return DeploymentTemplate.objects.get(workspace=None, slug=slug)


def test_presets_exist_after_migrate_with_their_values(db):
    assert DeploymentTemplate.objects.filter(is_preset=True, workspace=None).count() == len(PRESETS) == 5
    for preset in PRESETS:
        row = _preset(preset["slug"])
        assert {key: getattr(row, key) for key in preset} == preset


def test_preset_values_are_launchable(db):
    for preset in PRESETS:  # the launch form's own rules: a preset always makes a valid deployment
        service.clean_template_fields({k: v for k, v in preset.items() if k != "slug"})
    llama = _preset("vllm-llama")
    assert llama.min_vram_gb == 24 and llama.disk_gb == 100 and llama.health_path == "/v1/models"
    assert "HF_TOKEN" in llama.description and "HF_TOKEN" not in llama.env


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_presets_are_read_only(team, api_client_for, method):
    client = api_client_for(team["admin"], team["workspace"])
    preset = _preset("jupyter-lab")
    response = getattr(client, method)(f"{URL}{preset.pk}/", {"name": "Mine now"}, format="json")
    assert "read-only" in assert_error(response, 403, "read_only")["message"]
    assert _preset("jupyter-lab").name == "Jupyter Lab"


def test_create_update_delete(team, api_client_for):
    client = api_client_for(team["developer"], team["workspace"])
    created = client.post(URL, BODY, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["scope"] == "workspace" and data["slug"] == "my-server" and data["ports"] == [9000]
    url = f"{URL}{data['id']}/"
    changed = client.patch(url, {"ports": [9000, 9001], "description": "two ports"}, format="json")
    assert changed.status_code == 200 and changed.json()["ports"] == [9000, 9001]
    assert client.delete(url).status_code == 204
    assert not DeploymentTemplate.objects.filter(pk=data["id"]).exists()


def test_second_template_with_same_name_gets_its_own_slug(team):
    first = service.template_create(workspace=team["workspace"], user=team["admin"], name="A b", image="ubuntu")
    second = service.template_create(workspace=team["workspace"], user=team["admin"], name="A b", image="ubuntu")
    assert (first.slug, second.slug) == ("a-b", "a-b-2")


@pytest.mark.parametrize("change,field", [
    ({"image": "Not An Image"}, "image"),
    ({"ports": [70000]}, "ports"),
    ({"ports": [80, 80]}, "ports"),
    ({"env": {"1BAD": "x"}}, "env"),
    ({"disk_gb": 0}, "disk_gb"),
    ({"min_vram_gb": -1}, "min_vram_gb"),
    ({"health_path": "health"}, "health_path"),
    ({"local_command": "python -m x"}, "local_command"),
])
def test_bad_fields_are_named_and_nothing_written(team, api_client_for, change, field):
    client = api_client_for(team["developer"], team["workspace"])
    error = assert_error(client.post(URL, BODY | change, format="json"), 400)
    assert field in error["fields"], error
    assert not DeploymentTemplate.objects.filter(workspace=team["workspace"]).exists()


def test_viewer_cannot_create(team, api_client_for):
    client = api_client_for(team["viewer"], team["workspace"])
    assert_error(client.post(URL, BODY, format="json"), 403, "permission_denied")


def test_list_is_presets_own_and_published_only(team, other_team, api_client_for):
    mine = TemplateFactory(workspace=team["workspace"], name="Mine")
    TemplateFactory(workspace=other_team["workspace"], name="Their secret")
    shared = TemplateFactory(workspace=other_team["workspace"], name="Their shared", is_public=True)
    client = api_client_for(team["viewer"], team["workspace"])
    rows = client.get(URL, {"page_size": 100}).json()["results"]
    names = [row["name"] for row in rows]
    assert names[:5] == sorted(p["name"] for p in PRESETS)  # presets first
    assert set(names[5:]) == {mine.name, shared.name}
    assert {row["name"]: row["scope"] for row in rows}[shared.name] == "public"


def test_other_workspace_template_is_404_unless_published(team, other_team, api_client_for):
    hidden = TemplateFactory(workspace=other_team["workspace"])
    shared = TemplateFactory(workspace=other_team["workspace"], is_public=True)
    client = api_client_for(team["admin"], team["workspace"])
    assert_error(client.get(f"{URL}{hidden.pk}/"), 404)
    assert client.get(f"{URL}{shared.pk}/").status_code == 200
    assert_error(client.patch(f"{URL}{shared.pk}/", {"name": "taken"}, format="json"), 403, "read_only")
    assert_error(client.delete(f"{URL}{shared.pk}/"), 403, "read_only")


def test_search_by_name_and_description(team, api_client_for):
    TemplateFactory(workspace=team["workspace"], name="Whisper", description="speech to text")
    client = api_client_for(team["viewer"], team["workspace"])

    def names(q):
        return {row["name"] for row in client.get(URL, {"q": q}).json()["results"]}

    assert names("comfy") == {"ComfyUI"}
    assert names("SPEECH") == {"Whisper"}
    assert names("openai-compatible") == {"vLLM OpenAI-compatible server (Llama)"}


def test_publish_by_creator_or_admin_only(team, api_client_for):
    template = TemplateFactory(workspace=team["workspace"], created_by=team["admin"])
    url = f"{URL}{template.pk}/"
    developer = api_client_for(team["developer"], team["workspace"])
    assert_error(developer.patch(url, {"is_public": True}, format="json"), 403, "permission_denied")
    template.refresh_from_db()
    assert template.is_public is False
    admin = api_client_for(team["admin"], team["workspace"])
    assert admin.patch(url, {"is_public": True}, format="json").json()["is_public"] is True


def test_creator_publishes_on_create_and_another_developer_cannot_withdraw(team, api_client_for):
    developer = api_client_for(team["developer"], team["workspace"])
    created = developer.post(URL, BODY | {"is_public": True}, format="json")
    assert created.status_code == 201 and created.json()["is_public"] is True
    colleague = MembershipFactory(workspace=team["workspace"], role=Role.DEVELOPER).user
    url = f"{URL}{created.json()['id']}/"
    refused = api_client_for(colleague, team["workspace"]).patch(url, {"is_public": False, "name": "X"}, format="json")
    assert_error(refused, 403, "permission_denied")
    template = DeploymentTemplate.objects.get(pk=created.json()["id"])
    assert template.is_public is True and template.name == "My server"  # the rename rolled back too
