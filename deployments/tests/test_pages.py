"""The deployments pages: who may see and act, the launch form's inline errors (nothing created on
bad input, secrets never sent back), the detail page's parts, the logs download, templates."""

import pytest
from django.utils import timezone

from deployments.logs import log_append
from deployments.metrics import metric_record
from deployments.models import Deployment, DesiredState, Status
from deployments.services import event_record
from deployments.tests.factories import CredentialFactory, DeploymentFactory, TemplateFactory
from pricing.models import Offer

pytestmark = pytest.mark.django_db


def make_offer(credential, *, price=0.44, vram=24.0, spot=False, min_bid=None, gpu="rtx-4090", count=1) -> Offer:
    return Offer.objects.create(
        workspace=credential.workspace, credential=credential, provider=credential.provider, offer_id=f"{gpu}-{price}",
        gpu_model=gpu, gpu_name=gpu.upper(), gpu_count=count, vram_gb=vram, price_per_hour=price * count,
        price_per_gpu_hour=price, spot=spot, min_bid_per_hour=min_bid, region="us-east", fetched_at=timezone.now())


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"], name="llama-server", spend_usd=1.23,
                             running_since=timezone.now() - timezone.timedelta(hours=2, minutes=5))


# --- The list --------------------------------------------------------------------------------


def test_list_shows_status_provider_price_uptime_spend_and_actions(team, deployment, client_in):
    html = client_in(team["developer"], team["workspace"]).get("/deployments/").content.decode()
    assert "llama-server" in html and "RunPod" in html and "$0.44" in html and "$1.23" in html
    assert "2h 5m" in html
    assert 'class="chip chip--live"' in html and "Provider status:" in html
    assert f'/deployments/{deployment.pk}/actions/stop/' in html and 'hx-confirm="Stop llama-server?' in html


def test_rows_and_head_mid_change_are_marked_for_the_pages_safety_poll(team, deployment, client_in):
    client = client_in(team["developer"], team["workspace"])
    assert "data-changing" not in client.get("/deployments/").content.decode()  # live: settled
    Deployment.objects.filter(pk=deployment.pk).update(desired_state=DesiredState.STOPPED)
    assert f'data-row-url="/deployments/{deployment.pk}/row/" data-changing' in client.get("/deployments/").content.decode()
    assert "?part=head\" data-changing" in client.get(f"/deployments/{deployment.pk}/").content.decode()


def test_an_action_the_provider_cannot_do_is_disabled_with_its_reason(team, client_in):
    lambda_cred = CredentialFactory(workspace=team["workspace"], provider="lambda")
    d = DeploymentFactory(workspace=team["workspace"], credential=lambda_cred)
    html = client_in(team["developer"], team["workspace"]).get("/deployments/").content.decode()
    assert f"/deployments/{d.pk}/actions/stop/" not in html
    reason = "Lambda Cloud cannot stop an instance"
    assert f'disabled title="{reason}' in html  # the tooltip on the disabled button
    assert f'class="action-reason" id="why-row-{d.pk}-stop">{reason}' in html  # in words for touch screens


def test_viewer_sees_no_action_buttons_and_gets_403_on_post(team, deployment, client_in):
    client = client_in(team["viewer"], team["workspace"])
    html = client.get("/deployments/").content.decode()
    assert "llama-server" in html and "/actions/" not in html
    assert "/actions/" not in client.get(f"/deployments/{deployment.pk}/").content.decode()
    assert client.post(f"/deployments/{deployment.pk}/actions/stop/").status_code == 403
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.RUNNING


def test_anonymous_goes_to_login_and_other_workspace_gets_404(team, other_team, deployment, client, client_in):
    for url in ("/deployments/", f"/deployments/{deployment.pk}/", "/deployments/templates/", "/deployments/new/"):
        assert client.get(url).status_code == 302 and "/login" in client.get(url)["Location"]
    stranger = client_in(other_team["admin"], other_team["workspace"])
    for suffix in ("", "row/", "logs.txt", "metrics.json", "files/"):
        assert stranger.get(f"/deployments/{deployment.pk}/{suffix}").status_code == 404
    assert stranger.post(f"/deployments/{deployment.pk}/actions/delete/").status_code == 404
    assert "llama-server" not in stranger.get("/deployments/").content.decode()


def test_stop_from_the_list_swaps_the_row_and_records_who(team, deployment, client_in):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(f"/deployments/{deployment.pk}/actions/stop/", {"part": "row"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="dep-{deployment.pk}"')
    assert "Stopping…" in html
    deployment.refresh_from_db()
    assert deployment.desired_state == DesiredState.STOPPED
    assert deployment.events.filter(actor=team["developer"], message__icontains="stop").exists()


def test_a_refused_action_says_why_in_a_toast(team, deployment, client_in):
    client = client_in(team["developer"], team["workspace"])
    html = client.post(f"/deployments/{deployment.pk}/actions/start/", {"part": "head"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="deployment-head"' in html and "already running" in html


def test_deleted_deployments_are_hidden_until_asked(team, client_in):
    DeploymentFactory(workspace=team["workspace"], name="old-one", desired_state=DesiredState.DELETED, status=Status.TERMINATED)
    client = client_in(team["developer"], team["workspace"])
    assert "old-one" not in client.get("/deployments/").content.decode()
    assert "old-one" in client.get("/deployments/?show=all").content.decode()


# --- Detail ----------------------------------------------------------------------------------


def test_detail_shows_ssh_endpoints_logs_metrics_and_timeline(team, deployment, client_in):
    Deployment.objects.filter(pk=deployment.pk).update(ssh_host="ssh.runpod.io", ssh_port=22022, ssh_user="root",
                                                       public_ip="203.0.113.9", port_map={"8000": 41000})
    log_append(deployment=deployment, lines=["INFO server up", "GET /v1/models 200"])
    metric_record(deployment=deployment, values={"gpu_util_percent": 87.0, "cpu_percent": 12.0})
    event_record(deployment=deployment, kind="action", message="Stop requested", actor=team["admin"])
    html = client_in(team["viewer"], team["workspace"]).get(f"/deployments/{deployment.pk}/").content.decode()
    assert 'value="ssh -p 22022 root@ssh.runpod.io"' in html and "data-copy" in html
    assert 'href="http://203.0.113.9:41000/"' in html
    assert "GET /v1/models 200" in html and 'data-socket="/ws/deployments/' in html and 'data-last-seq="2"' in html
    assert "gpu_util_percent" in html  # the embedded chart data
    assert "Stop requested" in html and f"by {team['admin'].name or team['admin'].email}" in html
    assert "needs the workspace&#x27;s SSH key" in html  # remote without a workspace key: disabled with the reason


def test_detail_shows_the_same_endpoints_as_the_api_runpod_proxy_included(team, client_in, api_client_for):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod123", ports=[8888])
    html = client_in(team["viewer"], team["workspace"]).get(f"/deployments/{deployment.pk}/").content.decode()
    api = api_client_for(team["viewer"], team["workspace"]).get(f"/api/v1/deployments/{deployment.pk}/").json()
    assert api["endpoints"] == [{"port": 8888, "url": "https://pod123-8888.proxy.runpod.net/"}]
    assert 'href="https://pod123-8888.proxy.runpod.net/"' in html


def test_logs_txt_downloads_every_stored_line(team, deployment, client_in):
    log_append(deployment=deployment, lines=[f"line {n}" for n in range(1, 2501)])
    response = client_in(team["viewer"], team["workspace"]).get(f"/deployments/{deployment.pk}/logs.txt")
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/plain") and "attachment" in response["Content-Disposition"]
    assert body.splitlines() == [f"line {n}" for n in range(1, 2501)]


@pytest.mark.parametrize("name,header", [
    ("two\nlines", "attachment; filename*=utf-8''two%0Alines-logs.txt"),  # a row from before names were checked
    ('say "hi"', 'attachment; filename="say \\"hi\\"-logs.txt"'),
])
def test_logs_txt_file_name_is_a_safe_header(team, client_in, name, header):
    deployment = DeploymentFactory(workspace=team["workspace"], name=name)
    response = client_in(team["viewer"], team["workspace"]).get(f"/deployments/{deployment.pk}/logs.txt")
    assert response.status_code == 200 and response["Content-Disposition"] == header


def test_metrics_json_answers_the_window_and_refuses_others(team, deployment, client_in):
    metric_record(deployment=deployment, values={"ram_used_gb": 3.5})
    client = client_in(team["viewer"], team["workspace"])
    data = client.get(f"/deployments/{deployment.pk}/metrics.json?window=24h").json()
    assert data["window"] == "24h" and data["points"][0]["values"] == {"ram_used_gb": 3.5}
    assert client.get(f"/deployments/{deployment.pk}/metrics.json?window=7d").status_code == 400


# --- Launch ----------------------------------------------------------------------------------


@pytest.fixture
def offer(team):
    return make_offer(CredentialFactory(workspace=team["workspace"], provider="runpod"))


def launch_data(offer, **extra) -> dict:
    return {"offer": offer.pk, "name": "my-llm", "image": "vllm/vllm-openai:latest", "command": "--model x",
            "ports": "8000", "disk_gb": "60", **extra}


def test_launch_form_shows_provider_and_price_and_prefills_from_the_template(team, offer, client_in):
    template = TemplateFactory(workspace=team["workspace"], image="ghcr.io/acme/app:1", ports=[7860], env={"MODE": "fast"}, disk_gb=80)
    html = client_in(team["developer"], team["workspace"]).get(f"/deployments/new/?offer={offer.pk}&template={template.pk}").content.decode()
    assert "RunPod" in html and "$0.44" in html and "Deploy for $0.44/hour" in html
    assert 'value="ghcr.io/acme/app:1"' in html and 'value="7860"' in html and 'value="80"' in html
    assert 'value="MODE"' in html and 'value="fast"' in html
    assert 'name="spot"' in html  # RunPod supports spot


def test_launch_creates_the_deployment_with_secret_env_kept_apart(team, offer, client_in):
    data = launch_data(offer, **{"env-0-key": "MODE", "env-0-value": "fast", "env-3-key": "HF_TOKEN",
                                 "env-3-value": "hf_SECRET123", "env-3-secret": "1"})
    response = client_in(team["developer"], team["workspace"]).post("/deployments/new/", data)
    deployment = Deployment.objects.get(name="my-llm")
    assert response.status_code == 302 and response["Location"] == f"/deployments/{deployment.pk}/"
    assert deployment.env == {"MODE": "fast"} and deployment.ports == [8000] and deployment.command == ["--model", "x"]
    assert "hf_SECRET123" not in deployment.secret_env and deployment.secret_env  # encrypted
    assert deployment.price_per_hour == pytest.approx(0.44) and deployment.created_by == team["developer"]


@pytest.mark.parametrize("field,value,message", [
    ("image", "Not An Image!!", "image reference"),
    ("ports", "8000, 99999", "99999"),
    ("ports", "8000, 8000", "8000"),
    ("ports", "http", "not a port number"),
    ("disk_gb", "0", "greater than or equal"),
])
def test_bad_input_is_refused_inline_and_nothing_is_created(team, offer, client_in, field, value, message):
    data = launch_data(offer, **{field: value, "env-0-key": "TOKEN", "env-0-value": "s3cret-value", "env-0-secret": "1"})
    response = client_in(team["developer"], team["workspace"]).post("/deployments/new/", data)
    html = response.content.decode()
    assert response.status_code == 422 and not Deployment.objects.exists()
    assert "field--invalid" in html and message.lower() in html.lower()
    assert "s3cret-value" not in html and 'value="TOKEN"' in html  # the secret row stays, its value does not


def test_bad_env_key_is_refused_under_the_variables(team, offer, client_in):
    data = launch_data(offer, **{"env-0-key": "1BAD-KEY", "env-0-value": "x"})
    response = client_in(team["developer"], team["workspace"]).post("/deployments/new/", data)
    assert response.status_code == 422 and not Deployment.objects.exists()
    assert "1BAD-KEY" in response.content.decode() and "field-error" in response.content.decode()


@pytest.mark.parametrize("row", [{"env-0-key": "MODE", "env-0-value": "a\x00b"},
                                 {"env-0-key": "MODE", "env-0-value": "two\nlines"},
                                 {"env-0-key": "MO\x01DE", "env-0-value": "x"}])
def test_control_characters_in_env_rows_are_refused_under_the_variables(team, offer, client_in, row):
    response = client_in(team["developer"], team["workspace"]).post("/deployments/new/", launch_data(offer, **row))
    assert response.status_code == 422 and not Deployment.objects.exists()
    assert "control characters" in response.content.decode()


def test_a_tab_in_an_env_value_is_kept(team, offer, client_in):
    data = launch_data(offer, **{"env-0-key": "SEP", "env-0-value": "a\tb"})
    assert client_in(team["developer"], team["workspace"]).post("/deployments/new/", data).status_code == 302
    assert Deployment.objects.get().env == {"SEP": "a\tb"}


def test_an_offer_that_disappeared_says_so(team, offer, client_in):
    client = client_in(team["developer"], team["workspace"])
    offer_pk = offer.pk
    offer.delete()
    response = client.post("/deployments/new/", {"offer": offer_pk, "name": "x", "image": "a/b", "disk_gb": "10"})
    assert response.status_code == 404 and "no longer available" in response.content.decode()
    assert not Deployment.objects.exists()


def test_spot_needs_a_bid_and_respects_the_minimum(team, client_in):
    spot_offer = make_offer(CredentialFactory(workspace=team["workspace"], provider="vast"), spot=True, min_bid=0.3)
    client = client_in(team["developer"], team["workspace"])
    html = client.post("/deployments/new/", launch_data(spot_offer, spot="on")).content.decode()
    assert "needs a bid ceiling" in html
    response = client.post("/deployments/new/", launch_data(spot_offer, spot="on", bid_per_hour="0.1"))
    assert response.status_code == 422 and "bid" in response.content.decode().lower()
    assert not Deployment.objects.exists()


def test_viewer_cannot_open_the_launch_form(team, offer, client_in):
    client = client_in(team["viewer"], team["workspace"])
    assert client.get(f"/deployments/new/?offer={offer.pk}").status_code == 403
    assert client.post("/deployments/new/", launch_data(offer)).status_code == 403


def test_prices_deploy_button_opens_the_launch_form(team, offer, client_in):
    response = client_in(team["developer"], team["workspace"]).get(f"/prices/offers/{offer.pk}/deploy/")
    assert response.status_code == 302 and response["Location"] == f"/deployments/new/?offer={offer.pk}"


# --- Templates -------------------------------------------------------------------------------


def test_gallery_lists_presets_own_and_public_templates_and_searches(team, other_team, client_in):
    TemplateFactory(name="Jupyter Lab", is_preset=True, description="Notebooks")
    TemplateFactory(name="Our trainer", workspace=team["workspace"])
    TemplateFactory(name="Their secret", workspace=other_team["workspace"])
    TemplateFactory(name="Their public", workspace=other_team["workspace"], is_public=True)
    client = client_in(team["viewer"], team["workspace"])
    html = client.get("/deployments/templates/").content.decode()
    assert "Jupyter Lab" in html and "Our trainer" in html and "Their public" in html and "Their secret" not in html
    fragment = client.get("/deployments/templates/?q=notebook", HTTP_HX_REQUEST="true").content.decode()
    assert "Jupyter Lab" in fragment and "Our trainer" not in fragment and "<html" not in fragment


def test_template_deploy_lists_cheapest_fitting_offers_and_this_machine(team, client_in):
    ws = team["workspace"]
    make_offer(CredentialFactory(workspace=ws, provider="runpod"), price=2.0, vram=80, gpu="h100-sxm")
    make_offer(CredentialFactory(workspace=ws, provider="vast"), price=0.3, vram=24)
    make_offer(CredentialFactory(workspace=ws, provider="lambda"), price=1.1, vram=48, gpu="a6000")
    local = make_offer(CredentialFactory(workspace=ws, provider="local", label="This machine"), price=0.0, vram=0, count=0)
    template = TemplateFactory(workspace=ws, min_vram_gb=40)
    html = client_in(team["developer"], ws).get(f"/deployments/templates/{template.pk}/deploy/").content.decode()
    rows = html[html.index("<tbody"):]
    assert "Lambda" in rows and "RunPod" in rows and "Vast" not in rows  # Vast's 24 GB is too small
    assert rows.index("Lambda") < rows.index("RunPod")  # cheapest first
    assert f"offer={local.pk}&amp;template={template.pk}" in html  # it has a local_command
    no_local = TemplateFactory(workspace=ws, min_vram_gb=40, local_command=[])
    assert f"offer={local.pk}&" not in client_in(team["developer"], ws).get(f"/deployments/templates/{no_local.pk}/deploy/").content.decode()


def test_dashboard_shows_running_count_and_spend(team, deployment, client_in):
    html = client_in(team["viewer"], team["workspace"]).get("/").content.decode()
    assert "$1.23 spent so far" in html


def test_the_timeline_fragment_shows_the_latest_events(team, client_in):
    from deployments.models import EventKind
    from deployments.services import event_record
    from deployments.tests.factories import DeploymentFactory

    deployment = DeploymentFactory(workspace=team["workspace"])
    event_record(deployment=deployment, kind=EventKind.ACTION, message="Stop requested", actor=team["developer"])
    html = client_in(team["viewer"], team["workspace"]).get(
        f"/deployments/{deployment.pk}/row/?part=timeline", HTTP_HX_REQUEST="true").content.decode()
    assert html.startswith('<ol class="timeline" id="timeline"') and "Stop requested" in html


def test_the_connect_fragment_follows_the_status(team, client_in):
    from deployments.tests.factories import DeploymentFactory

    deployment = DeploymentFactory(workspace=team["workspace"], status="pending", ssh_host="", ports=[8000])
    client = client_in(team["viewer"], team["workspace"])
    url = f"/deployments/{deployment.pk}/row/?part=connect"
    assert "get public addresses once the deployment is live" in client.get(url, HTTP_HX_REQUEST="true").content.decode()
    deployment.status, deployment.ssh_host, deployment.ssh_port, deployment.ssh_user = "running", "203.0.113.7", 22, "root"
    deployment.save()
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert html.startswith('<div class="dep-grid" id="dep-connect"') and "ssh root@203.0.113.7" in html
