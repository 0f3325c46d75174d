"""The providers REST API: kinds, keys (write-only), roles and workspace isolation."""

import pytest

from computehub.tests.api_helpers import assert_error
from providers.models import ProviderCredential
from providers.tests.credential_fakes import fake_clouds  # noqa: F401

KEY = "sk-CANARY-api-key-0042"
CREDENTIALS = "/api/v1/credentials/"


@pytest.fixture
def admin_api(team, api_client_for):
    return api_client_for(team["admin"], team["workspace"])


def post_key(client, key=KEY, **extra):
    return client.post(CREDENTIALS, {"provider": "runpod", "label": "Main", "api_key": key, **extra}, format="json")


def test_create_returns_201_without_the_key(admin_api, fake_clouds):
    response = post_key(admin_api)
    assert response.status_code == 201, response.content
    body = response.json()
    assert KEY.encode() not in response.content and "api_key" not in body and "secret" not in body
    assert body["provider"] == "runpod" and body["last4"] == "0042" and body["stale"] is False
    assert set(body) == {"id", "provider", "label", "is_sandbox", "base_url", "last4", "fingerprint", "created_at",
                         "validated_at", "refreshed_at", "refresh_error", "stale"}


def test_refused_key_is_a_400_with_the_providers_reason(admin_api, fake_clouds):
    response = post_key(admin_api, key="wrong-key-1234567")
    error = assert_error(response, 400, "key_refused")
    assert error["message"].startswith("RunPod refused this key") and b"wrong-key-1234567" not in response.content
    assert not ProviderCredential.objects.exists()


def test_unreachable_provider_is_a_503_and_duplicate_a_409(admin_api, fake_clouds):
    fake_clouds.mode = "down"
    assert_error(post_key(admin_api), 503, "provider_unreachable")
    fake_clouds.mode = "ok"
    assert post_key(admin_api).status_code == 201
    assert_error(post_key(admin_api), 409, "duplicate")


@pytest.mark.parametrize("body", [{"provider": "runpod"}, {"provider": "runpod", "api_key": KEY, "extra": 1},
                                  {"provider": "runpod", "api_key": KEY, "base_url": "not a url"}])
def test_malformed_body_is_a_validation_error_that_never_echoes_the_key(admin_api, fake_clouds, body):
    response = admin_api.post(CREDENTIALS, body, format="json")
    assert_error(response, 400, "validation_error")
    assert KEY.encode() not in response.content and fake_clouds.calls == 0


def test_list_get_delete(admin_api, team, fake_clouds):
    created = post_key(admin_api).json()
    listing = admin_api.get(CREDENTIALS).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == created["id"]
    detail = f"{CREDENTIALS}{created['id']}/"
    assert admin_api.get(detail).json() == created
    assert admin_api.delete(detail).status_code == 204
    assert_error(admin_api.get(detail), 404)


def test_viewer_reads_but_cannot_write(team, api_client_for, admin_api, fake_clouds):
    created = post_key(admin_api).json()
    for role in ("viewer", "developer"):
        client = api_client_for(team[role], team["workspace"])
        assert client.get(CREDENTIALS).json()["count"] == 1
        assert_error(post_key(client, key=KEY + "x"), 403, "permission_denied")
        assert_error(client.delete(f"{CREDENTIALS}{created['id']}/"), 403, "permission_denied")
    assert fake_clouds.calls == 1


def test_other_workspace_gets_404_and_an_empty_list(admin_api, other_team, api_client_for, fake_clouds):
    created = post_key(admin_api).json()
    stranger = api_client_for(other_team["admin"], other_team["workspace"])
    assert_error(stranger.get(f"{CREDENTIALS}{created['id']}/"), 404)
    assert_error(stranger.delete(f"{CREDENTIALS}{created['id']}/"), 404)
    assert stranger.get(CREDENTIALS).json()["count"] == 0
    assert ProviderCredential.objects.filter(pk=created["id"]).exists()


def test_providers_lists_kinds_with_capabilities_and_refresh(admin_api, team, fake_clouds):
    post_key(admin_api)
    results = {row["kind"]: row for row in admin_api.get("/api/v1/providers/").json()["results"]}
    assert set(results) == {"runpod", "lambda"}
    assert results["runpod"]["accounts"] == 1 and results["runpod"]["refresh"] == {"state": "never", "at": None,
                                                                                   "error": ""}
    spot = next(c for c in results["lambda"]["capabilities"] if c["action"] == "spot")
    assert spot == {"action": "spot", "label": "Spot", "supported": False,
                    "reason": "Lambda has no spot (interruptible) instances"}


def test_viewers_and_developers_see_last4_but_not_fingerprint_or_base_url(team, api_client_for, admin_api,
                                                                           fake_clouds):
    created = post_key(admin_api, base_url="http://127.0.0.1:9/runpod").json()
    assert created["fingerprint"] and created["base_url"] == "http://127.0.0.1:9/runpod"
    assert admin_api.get(CREDENTIALS).json()["results"][0]["fingerprint"] == created["fingerprint"]
    for role in ("viewer", "developer"):
        client = api_client_for(team[role], team["workspace"])
        for body in (client.get(CREDENTIALS).json()["results"][0], client.get(f"{CREDENTIALS}{created['id']}/").json()):
            assert body["last4"] == "0042" and "fingerprint" not in body and "base_url" not in body
            assert created["fingerprint"].encode() not in client.get(CREDENTIALS).content


def test_schema_documents_the_admin_only_credential_fields(admin_api):
    schema = admin_api.get("/api/schema/?format=json").json()
    credential = schema["components"]["schemas"]["Credential"]
    assert "fingerprint" not in credential["required"] and "base_url" not in credential["required"]
    assert "Admins only" in credential["properties"]["fingerprint"]["description"]
    assert "last4" in credential["required"]


@pytest.mark.parametrize("provider", ["local", 7])
def test_local_and_non_strings_are_not_connectable_providers(admin_api, fake_clouds, settings, provider):
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    response = admin_api.post(CREDENTIALS, {"provider": provider, "api_key": KEY}, format="json")
    assert_error(response, 400, "validation_error")
    assert not ProviderCredential.objects.exists() and fake_clouds.calls == 0
