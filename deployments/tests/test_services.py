"""Launch validation (every bad input is a field error and leaves no row), secret env stored only
encrypted, the actions with their refusals, and the credential guard."""

import json

import pytest
from django.utils import timezone

from computehub import crypto
from computehub.errors import ApplicationError
from deployments.models import Deployment, DeploymentEvent, DesiredState, EventKind, Status
from deployments.selectors import deployment_actions, deployment_for_member, deployment_get
from deployments.services import deployment_action, deployment_create, deployment_create_from_offer, secret_env_of
from deployments.tests.factories import CredentialFactory, DeploymentFactory, TemplateFactory
from pricing.models import Offer
from providers.services import credential_delete


@pytest.fixture
def offer(team):
    credential = CredentialFactory(workspace=team["workspace"], provider="vast")
    return Offer.objects.create(workspace=team["workspace"], credential=credential, provider="vast", offer_id="123",
                                gpu_name="RTX 4090", gpu_model="rtx-4090", gpu_count=1, vram_gb=24, price_per_hour=0.4,
                                price_per_gpu_hour=0.4, spot=True, min_bid_per_hour=0.2, fetched_at=timezone.now())


def create(team, offer, **overrides):
    params = {"workspace": team["workspace"], "user": team["developer"], "credential": offer.credential,
              "offer_id": offer.offer_id, "name": "job", "image": "vllm/vllm-openai:v0.6.3", "ports": [8000],
              "env": {"MODEL": "llama"}, "disk_gb": 50, "spot": True, "bid_per_hour": 0.3}
    return deployment_create(**(params | overrides))


def test_a_valid_launch_writes_the_intent_and_encrypts_secrets(team, offer, django_capture_on_commit_callbacks,
                                                               monkeypatch):
    queued = []
    monkeypatch.setattr("deployments.tasks.async_task", lambda *args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        deployment = create(team, offer, secret_env={"HF_TOKEN": "hf_very_secret"})
    assert (deployment.desired_state, deployment.status) == (DesiredState.RUNNING, Status.PENDING)
    assert deployment.price_per_hour == 0.4 and deployment.gpu_name == "RTX 4090" and deployment.provider == "vast"
    row = Deployment.objects.get(pk=deployment.pk)
    assert "hf_very_secret" not in row.secret_env and secret_env_of(row) == {"HF_TOKEN": "hf_very_secret"}
    aad = f"deployments.deployment.secret_env:{team['workspace'].pk}:{deployment.pk}"
    assert json.loads(crypto.decrypt(row.secret_env, aad=aad)) == {"HF_TOKEN": "hf_very_secret"}
    event = DeploymentEvent.objects.get(deployment=deployment)
    assert event.kind == EventKind.CREATED and "hf_very_secret" not in json.dumps(event.data) + event.message
    assert queued == [("deployments.tasks.reconcile", str(deployment.pk))]


BAD = [
    ({"name": ""}, "name"), ({"name": "x" * 81}, "name"),
    ({"image": ""}, "image"), ({"image": "vllm/vllm openai"}, "image"), ({"image": "Vllm/VLLM:latest"}, "image"),
    ({"image": "repo:bad tag"}, "image"), ({"image": "repo@sha256:xyz"}, "image"), ({"image": "a//b"}, "image"),
    ({"ports": [0]}, "ports"), ({"ports": [65536]}, "ports"), ({"ports": [80, 80]}, "ports"),
    ({"ports": ["80"]}, "ports"), ({"ports": list(range(1000, 1021))}, "ports"),
    ({"env": {"1BAD": "x"}}, "env"), ({"env": {"BAD-KEY": "x"}}, "env"), ({"env": {"K": "x" * 4097}}, "env"),
    ({"env": {"K": 3}}, "env"), ({"secret_env": {"has space": "x"}}, "secret_env"),
    ({"disk_gb": 10_001}, "disk_gb"), ({"disk_gb": 0}, "disk_gb"),
    ({"bid_per_hour": 0.1}, "bid_per_hour"), ({"bid_per_hour": None}, "bid_per_hour"), ({"bid_per_hour": 0}, "bid_per_hour"),
    ({"offer_id": "gone"}, "offer_id"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD)
def test_bad_input_is_a_field_error_and_nothing_is_created(team, offer, overrides, field):
    with pytest.raises(ApplicationError) as refused:
        create(team, offer, **overrides)
    assert field in refused.value.fields, refused.value.fields
    assert not Deployment.objects.exists() and not DeploymentEvent.objects.exists()


def test_the_bid_below_the_minimum_names_it(team, offer):
    with pytest.raises(ApplicationError) as refused:
        create(team, offer, bid_per_hour=0.1)
    assert refused.value.fields["bid_per_hour"] == ["The bid is below the provider's minimum $0.2/h."]


def test_disk_below_the_template_minimum(team, offer):
    template = TemplateFactory(disk_gb=100)
    with pytest.raises(ApplicationError) as refused:
        create(team, offer, disk_gb=60, template=template)
    assert "100 GB" in refused.value.fields["disk_gb"][0]


def test_spot_on_a_provider_without_spot_and_another_workspaces_credential(team, other_team, offer):
    lambda_credential = CredentialFactory(workspace=team["workspace"], provider="lambda")
    with pytest.raises(ApplicationError) as refused:
        create(team, offer, credential=lambda_credential)
    assert "spot" in refused.value.fields
    foreign = CredentialFactory(workspace=other_team["workspace"], provider="vast")
    with pytest.raises(ApplicationError) as refused:
        create(team, offer, credential=foreign)
    assert "credential" in refused.value.fields and not Deployment.objects.exists()


@pytest.mark.parametrize("name", ["two\nlines", "nul\x00", "bell\x07", "del\x7f"])
def test_a_name_with_control_characters_is_refused(team, offer, name):
    with pytest.raises(ApplicationError) as refused:
        create(team, offer, name=name)
    assert "control characters" in refused.value.fields["name"][0] and not Deployment.objects.exists()


def test_spot_needs_the_offers_spot_row_and_its_minimum_bid(team, offer):
    on_demand_only = Offer.objects.create(
        workspace=team["workspace"], credential=offer.credential, provider="vast", offer_id="456", gpu_name="A100",
        gpu_model="a100", gpu_count=1, vram_gb=80, price_per_hour=1.0, price_per_gpu_hour=1.0, spot=False,
        fetched_at=timezone.now())
    with pytest.raises(ApplicationError) as refused:
        create(team, on_demand_only, bid_per_hour=0.01)  # no spot row: no minimum to check against
    assert refused.value.fields == {"spot": ["This offer has no spot option."]}
    Offer.objects.create(**{f.attname: getattr(on_demand_only, f.attname) for f in Offer._meta.concrete_fields
                            if not f.primary_key} | {"spot": True, "min_bid_per_hour": 0.5})
    with pytest.raises(ApplicationError) as refused:
        create(team, on_demand_only, bid_per_hour=0.3)
    assert "bid_per_hour" in refused.value.fields and not Deployment.objects.exists()
    assert create(team, on_demand_only, bid_per_hour=0.6).price_per_hour == 1.0


def test_valid_image_references(team, offer):
    for image in ("python", "ghcr.io/owner/repo:1.2", "localhost:5000/a/b@sha256:" + "a" * 64, "a.b/c_d__e-f:tag"):
        assert create(team, offer, image=image).image == image


def test_deploy_from_an_offer_with_a_template(team, offer):
    template = TemplateFactory(disk_gb=80, ports=[8188], env={"A": "1"})
    deployment = deployment_create_from_offer(workspace=team["workspace"], user=team["developer"], offer=offer,
                                              template=template, bid_per_hour=0.25)
    assert (deployment.image, deployment.ports, deployment.disk_gb, deployment.spot) == (
        template.image, [8188], 80, True)


def test_actions_change_intent_and_refuse_what_the_provider_cannot(team, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("deployments.tasks.async_task", lambda *args, **kw: None)
    lam = DeploymentFactory(workspace=team["workspace"], credential__provider="lambda")
    reason = deployment_actions(lam)["stop"]
    assert reason and "Lambda" in reason
    with pytest.raises(ApplicationError) as refused:
        deployment_action(deployment=lam, action="stop", user=team["developer"])
    assert refused.value.code == "not_supported" and refused.value.message == reason
    assert lam.events.get().data == {"action": "stop", "refused": True}

    runpod = DeploymentFactory(workspace=team["workspace"])
    deployment_action(deployment=runpod, action="restart", user=team["developer"])
    assert runpod.restart_requested_at is not None and deployment_actions(runpod)["restart"]
    deployment_action(deployment=runpod, action="delete", user=team["developer"])
    assert runpod.desired_state == DesiredState.DELETED
    assert set(deployment_actions(runpod).values()) == {"This deployment has been deleted."}
    assert [e.actor for e in runpod.events.all()] == [team["developer"]] * 2


def test_deployment_get_is_scoped_to_the_workspace(team, other_team):
    theirs = DeploymentFactory(workspace=other_team["workspace"])
    from django.http import Http404
    with pytest.raises(Http404):
        deployment_get(workspace=team["workspace"], deployment_id=theirs.pk)
    with pytest.raises(Http404):
        deployment_get(workspace=team["workspace"], deployment_id="not-a-uuid")


def test_a_credential_with_live_deployments_cannot_be_deleted(team):
    deployment = DeploymentFactory(workspace=team["workspace"], desired_state=DesiredState.DELETED,
                                   status=Status.TERMINATING)
    with pytest.raises(ApplicationError) as refused:
        credential_delete(credential=deployment.credential)
    assert refused.value.code == "in_use" and "1 deployment" in refused.value.message
    Deployment.objects.filter(pk=deployment.pk).update(status=Status.TERMINATED)
    credential_delete(credential=deployment.credential)
    assert not Deployment.objects.exists()


def test_disconnecting_an_account_with_a_live_deployment_is_refused_on_the_page(team, client_in):
    from deployments.tests.factories import DeploymentFactory
    from providers.models import ProviderCredential

    deployment = DeploymentFactory(workspace=team["workspace"])
    client = client_in(team["admin"], team["workspace"])
    url = f"/providers/accounts/{deployment.credential_id}/delete/"
    page = client.post(url, HTTP_HX_REQUEST="true")
    assert page.status_code == 422 and f"credential-{deployment.credential_id}" in page.content.decode()
    assert ProviderCredential.objects.filter(pk=deployment.credential_id).exists()
    assert client.post(url).status_code == 302  # the full-page form gets the message after a redirect


def test_deployment_for_member_hides_foreign_missing_and_malformed_ids_alike(team, other_team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    assert deployment_for_member(user=team["viewer"], deployment_id=deployment.pk) == deployment
    for user, deployment_id in ((other_team["admin"], deployment.pk), (team["viewer"], "not-a-uuid"),
                                (team["viewer"], "00000000-0000-0000-0000-000000000000")):
        assert deployment_for_member(user=user, deployment_id=deployment_id) is None
