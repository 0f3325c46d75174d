"""The deployments REST API: launch (from an offer, a template, an account), bad input refused
before anything is written, a list at a constant number of queries, detail, actions, delete."""

import itertools
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from computehub.tests.api_helpers import assert_error
from deployments.models import Deployment, DeploymentTemplate, DesiredState, EventKind, Status
from deployments.tests.factories import CredentialFactory, DeploymentFactory, TemplateFactory
from pricing.models import Offer

URL = "/api/v1/deployments/"
SECRET = "hf_TOPSECRET_value_123"


def make_offer(workspace, provider="runpod", **overrides) -> Offer:
    credential = CredentialFactory(workspace=workspace, provider=provider)
    values = {"workspace": workspace, "credential": credential, "provider": provider, "offer_id": "SECURE|1|RTX 4090",
              "region": "EU-RO-1", "gpu_model": "rtx-4090", "gpu_name": "RTX 4090", "gpu_count": 1, "vram_gb": 24,
              "price_per_hour": 0.69, "price_per_gpu_hour": 0.69, "fetched_at": timezone.now()}
    return Offer.objects.create(**values | overrides)


@pytest.fixture
def dev(team, api_client_for):
    return api_client_for(team["developer"], team["workspace"])


def test_create_from_offer(team, dev):
    offer = make_offer(team["workspace"])
    response = dev.post(URL, {"offer": offer.pk, "name": "api-job", "image": "vllm/vllm-openai:latest",
                              "ports": [8000], "disk_gb": 80}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["desired_state"], data["provider"]) == ("pending", "running", "runpod")
    assert (data["price_per_hour"], data["gpu"], data["offer_id"]) == (0.69, "RTX 4090", offer.offer_id)
    deployment = Deployment.objects.get(pk=data["id"])
    assert deployment.created_by == team["developer"]
    assert deployment.events.filter(kind=EventKind.CREATED).exists()


def test_create_from_template_keeps_secrets_out_of_every_answer(team, dev):
    offer = make_offer(team["workspace"])
    preset = DeploymentTemplate.objects.get(workspace=None, slug="vllm-llama")
    response = dev.post(URL, {"offer": offer.pk, "template": preset.pk, "secret_env": {"HF_TOKEN": SECRET}},
                        format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["image"], data["ports"], data["disk_gb"]) == ("vllm/vllm-openai:latest", [8000], 100)
    assert data["command"][:2] == ["--model", "meta-llama/Llama-3.1-8B-Instruct"]
    assert data["secret_env_keys"] == ["HF_TOKEN"] and "secret_env" not in data
    detail = dev.get(f"{URL}{data['id']}/")
    listing = dev.get(URL)
    for answer in (response, detail, listing):
        assert SECRET not in answer.content.decode()
    stored = Deployment.objects.get(pk=data["id"])
    assert SECRET not in stored.secret_env and SECRET not in json.dumps(stored.env)


def test_create_on_this_machine_runs_the_templates_local_command(team, dev, settings):
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    local = CredentialFactory(workspace=team["workspace"], provider="local", label="This machine")
    preset = DeploymentTemplate.objects.get(workspace=None, slug="jupyter-lab")
    response = dev.post(URL, {"credential": str(local.pk), "template": preset.pk}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["command"] == ["python", "-m", "deployments.standins", "jupyter"]
    assert response.json()["provider"] == "local"


@pytest.fixture
def bad_input_context(team):
    template = TemplateFactory(workspace=team["workspace"], disk_gb=100)
    gone = make_offer(team["workspace"], offer_id="gone")
    gone_pk = gone.pk
    gone.delete()
    spot = make_offer(team["workspace"], provider="vast", offer_id="vast-1", spot=True, min_bid_per_hour=0.2)
    return {"offer": make_offer(team["workspace"], offer_id="ok"), "template": template, "gone": gone_pk, "spot": spot}


BASE = {"name": "job", "image": "python:3.12-slim", "ports": [8000], "disk_gb": 50}
BAD = [
    ("invalid image", {"image": "Bad Image!"}, "image"),
    ("port out of range", {"ports": [70000]}, "ports"),
    ("duplicate ports", {"ports": [8000, 8000]}, "ports"),
    ("env key", {"env": {"1BAD": "x"}}, "env"),
    ("secret env key", {"secret_env": {"BAD-KEY": SECRET}}, "secret_env"),
    ("disk below template minimum", {"template": "template", "disk_gb": 10}, "disk_gb"),
    ("vanished offer", {"offer": "gone"}, "offer"),
    ("spot bid below minimum", {"offer": "spot", "spot": True, "bid_per_hour": 0.1}, "bid_per_hour"),
    ("both offer and credential", {"credential": "00000000-0000-0000-0000-000000000000"}, "offer"),
    ("offer with offer_id", {"offer_id": "SECURE|1|RTX 4090"}, "offer_id"),
    ("unknown field", {"gpu_type": "h100"}, "gpu_type"),
    ("unknown template", {"template": 999999}, "template"),
]


@pytest.mark.parametrize("change,field", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_names_the_field_and_writes_nothing(team, dev, bad_input_context, change, field):
    body = {"offer": bad_input_context["offer"].pk} | BASE | change
    for key in ("offer", "template"):
        if isinstance(body.get(key), str):
            value = bad_input_context[body[key]]
            body[key] = value if isinstance(value, int) else value.pk
    error = assert_error(dev.post(URL, body, format="json"), 400)
    assert field in error["fields"], error
    assert SECRET not in json.dumps(error)
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("given", [set(c) for n in range(4) for c in itertools.combinations(
    ("offer", "credential", "offer_id"), n)], ids=lambda given: "+".join(sorted(given)) or "none")
def test_every_combination_of_offer_fields_is_launched_or_refused_never_a_500(team, dev, given):
    offer = make_offer(team["workspace"])
    values = {"offer": offer.pk, "credential": str(offer.credential_id), "offer_id": offer.offer_id}
    response = dev.post(URL, BASE | {key: values[key] for key in given}, format="json")
    launches = given in ({"offer"}, {"credential", "offer_id"})
    assert response.status_code == (201 if launches else 400), response.content


def test_vanished_provider_offer_id_is_refused(team, dev):
    credential = CredentialFactory(workspace=team["workspace"])
    error = assert_error(dev.post(URL, BASE | {"credential": str(credential.pk), "offer_id": "no-such"}, format="json"), 400)
    assert "offer_id" in error["fields"] and not Deployment.objects.exists()


def test_another_workspaces_offer_is_refused(team, other_team, dev):
    theirs = make_offer(other_team["workspace"])
    error = assert_error(dev.post(URL, BASE | {"offer": theirs.pk}, format="json"), 400)
    assert "offer" in error["fields"] and not Deployment.objects.exists()


def _list_queries(client) -> int:
    client.get(URL)  # warm: the token's first use of the minute writes last_used_at
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL, {"page_size": 50}).status_code == 200
    return len(captured)


def test_list_uses_a_constant_number_of_queries(team, dev):
    template = TemplateFactory(workspace=team["workspace"])
    DeploymentFactory.create_batch(3, workspace=team["workspace"], template=template)
    at_three = _list_queries(dev)
    credential = CredentialFactory(workspace=team["workspace"], provider="vast")
    DeploymentFactory.create_batch(27, workspace=team["workspace"], template=template, credential=credential)
    assert _list_queries(dev) == at_three
    assert dev.get(URL, {"page_size": 50}).json()["count"] == 30


def test_list_rows(team, dev):
    started = timezone.now() - timezone.timedelta(hours=2)
    DeploymentFactory(workspace=team["workspace"], running_since=started, price_per_hour=0.5, spend_usd=0.25,
                      spend_accrued_at=timezone.now() - timezone.timedelta(hours=1), raw_status="RUNNING")
    DeploymentFactory(workspace=team["workspace"], desired_state=DesiredState.DELETED, status=Status.TERMINATED)
    rows = dev.get(URL).json()["results"]
    assert len(rows) == 1  # deleted and confirmed gone: off the list
    row = rows[0]
    assert 7190 < row["uptime_s"] < 7300 and row["raw_status"] == "RUNNING"
    assert 0.74 < row["spend_usd"] < 0.76  # 0.25 accrued + an hour at $0.50


def test_detail_has_ssh_endpoints_and_actions(team, dev):
    deployment = DeploymentFactory(workspace=team["workspace"], ssh_host="203.0.113.7", ssh_port=40022,
                                   ssh_user="root", public_ip="203.0.113.7", ports=[8000, 8888],
                                   port_map={"8000": 41000})
    data = dev.get(f"{URL}{deployment.pk}/").json()
    assert data["ssh_command"] == "ssh -p 40022 root@203.0.113.7"
    assert data["endpoints"] == [{"port": 8000, "url": "http://203.0.113.7:41000/"}, {"port": 8888, "url": None}]
    actions = {a["action"]: a for a in data["actions"]}
    assert actions["stop"]["allowed"] and not actions["start"]["allowed"] and actions["start"]["reason"]
    assert data["secret_env_keys"] == []


def test_actions_are_accepted(team, dev):
    deployment = DeploymentFactory(workspace=team["workspace"])
    url = f"{URL}{deployment.pk}/"
    assert dev.post(f"{url}restart/").status_code == 202
    deployment.refresh_from_db()
    assert deployment.restart_requested_at is not None
    assert dev.post(f"{url}stop/").json()["desired_state"] == "stopped"
    assert dev.post(f"{url}start/").json()["desired_state"] == "running"


def test_unsupported_action_is_409_with_the_reason(team, dev):
    deployment = DeploymentFactory(workspace=team["workspace"], credential__provider="lambda")
    error = assert_error(dev.post(f"{URL}{deployment.pk}/stop/"), 409, "not_supported")
    assert "Lambda" in error["message"] and "cannot stop" in error["message"]
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.RUNNING


def test_delete_is_accepted_and_sets_desired_state(team, dev):
    deployment = DeploymentFactory(workspace=team["workspace"])
    response = dev.delete(f"{URL}{deployment.pk}/")
    assert response.status_code == 202 and response.json()["desired_state"] == "deleted"
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.DELETED
    assert_error(dev.post(f"{URL}{deployment.pk}/start/"), 409, "not_supported")


def test_viewer_reads_but_cannot_act(team, api_client_for):
    deployment = DeploymentFactory(workspace=team["workspace"])
    viewer = api_client_for(team["viewer"], team["workspace"])
    assert viewer.get(f"{URL}{deployment.pk}/").status_code == 200
    assert_error(viewer.post(f"{URL}{deployment.pk}/stop/"), 403, "permission_denied")
    assert_error(viewer.delete(f"{URL}{deployment.pk}/"), 403, "permission_denied")
