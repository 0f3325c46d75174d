"""The Providers page: accounts with status, the Connect form's inline refusals, roles."""

from datetime import timedelta

import pytest
from django.utils import timezone

from providers import services
from providers.models import ProviderCredential
from providers.tests.credential_fakes import fake_clouds  # noqa: F401

KEY = "sk-CANARY-page-key-7777"
HX = {"HTTP_HX_REQUEST": "true"}


def connect_form(client, key=KEY, **headers):
    return client.post("/providers/connect/", {"provider": "runpod", "label": "Main", "api_key": key}, **headers)


def test_page_shows_accounts_status_and_capabilities(team, client_in, fake_clouds):
    credential = services.credential_create(workspace=team["workspace"], provider="runpod", api_key=KEY,
                                            label="Main", created_by=team["admin"])
    sandbox = ProviderCredential.objects.create(workspace=team["workspace"], provider="lambda", label="Sandbox",
                                                is_sandbox=True, refreshed_at=timezone.now() - timedelta(minutes=3))
    failed_at = timezone.localtime().replace(hour=12, minute=3)
    ProviderCredential.objects.filter(pk=credential.pk).update(refresh_error="rate limited", refresh_failed_at=failed_at)
    html = client_in(team["admin"], team["workspace"]).get("/providers/").content.decode()
    assert "Stale since 12:03 — rate limited" in html and "Refreshed 3\xa0minutes ago" in html
    assert ">Sandbox</span>" in html and "…7777" in html and credential.fingerprint in html
    assert "Lambda has no spot (interruptible) instances" in html and "✓" in html
    assert 'type="password"' in html and 'autocomplete="off"' in html and "providers.css" in html
    assert f"/providers/accounts/{sandbox.pk}/delete/" in html and "hx-confirm" in html
    assert KEY not in html


def test_connect_refused_key_is_shown_inline_without_the_key(team, client_in, fake_clouds):
    response = connect_form(client_in(team["admin"], team["workspace"]), key="refused-key-123456", **HX)
    html = response.content.decode()
    assert response.status_code == 422 and "RunPod refused this key" in html and 'id="connect"' in html
    assert "refused-key-123456" not in html and "<html" not in html
    assert not ProviderCredential.objects.exists()


def test_connect_good_key_redirects_to_the_page(team, client_in, fake_clouds):
    client = client_in(team["admin"], team["workspace"])
    response = connect_form(client, **HX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/providers/"
    assert KEY not in response.content.decode()
    credential = ProviderCredential.objects.get()
    assert services.credential_secret(credential) == KEY
    assert "Connected RunPod account" in client.get("/providers/").content.decode()


def test_delete_removes_the_row(team, client_in, fake_clouds):
    credential = services.credential_create(workspace=team["workspace"], provider="runpod", api_key=KEY,
                                            label="Main", created_by=team["admin"])
    client = client_in(team["admin"], team["workspace"])
    response = client.post(f"/providers/accounts/{credential.pk}/delete/", **HX)
    assert response.status_code == 200 and "<tr" not in response.content.decode()
    assert not ProviderCredential.objects.exists()


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_non_admins_see_no_write_controls_and_get_403(team, client_in, fake_clouds, role):
    credential = ProviderCredential.objects.create(workspace=team["workspace"], provider="runpod", label="Main")
    client = client_in(team[role], team["workspace"])
    html = client.get("/providers/").content.decode()
    assert "Main" in html and 'name="api_key"' not in html and "/delete/" not in html
    assert connect_form(client).status_code == 403
    assert client.post(f"/providers/accounts/{credential.pk}/delete/").status_code == 403
    assert ProviderCredential.objects.filter(pk=credential.pk).exists() and fake_clouds.calls == 0


def test_other_workspaces_account_is_404(team, other_team, client_in, fake_clouds):
    credential = ProviderCredential.objects.create(workspace=team["workspace"], provider="runpod", label="Main")
    response = client_in(other_team["admin"], other_team["workspace"]).post(f"/providers/accounts/{credential.pk}/delete/")
    assert response.status_code == 404 and ProviderCredential.objects.filter(pk=credential.pk).exists()


def test_page_lists_every_registered_cloud_with_the_real_adapters(team, client_in):
    from providers.adapters import adapter_class, all_kinds

    html = client_in(team["admin"], team["workspace"]).get("/providers/").content.decode()
    for kind in all_kinds():
        assert f'<th scope="row">{adapter_class(kind).display_name}</th>' in html
        # Every cloud in the Connect form except This machine, which only the operator turns on.
        assert (f'<option value="{kind}"' in html) == (kind != "local")


def test_fingerprint_and_base_url_are_shown_to_admins_only(team, client_in, fake_clouds):
    credential = services.credential_create(workspace=team["workspace"], provider="runpod", api_key=KEY,
                                            label="Main", created_by=team["admin"], base_url="http://127.0.0.1:9/runpod")
    admin_html = client_in(team["admin"], team["workspace"]).get("/providers/").content.decode()
    assert credential.fingerprint in admin_html and "http://127.0.0.1:9/runpod" in admin_html
    for role in ("viewer", "developer"):
        html = client_in(team[role], team["workspace"]).get("/providers/").content.decode()
        assert "…7777" in html and credential.fingerprint not in html and "127.0.0.1:9" not in html


def test_connect_form_does_not_offer_this_machine(team, client_in, fake_clouds, settings):
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    client = client_in(team["admin"], team["workspace"])
    assert 'value="local"' not in client.get("/providers/").content.decode()
    response = client.post("/providers/connect/", {"provider": "local", "api_key": "x" * 20}, **HX)
    assert response.status_code == 422 and not ProviderCredential.objects.filter(provider="local").exists()
