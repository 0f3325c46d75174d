"""Bad input never answers 500 and never writes half a change: every refusal is the shared
JSON error shape, and the database is as it was."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import ApiToken, Workspace
from accounts.services import api_token_create, api_token_revoke
from computehub.tests.api_helpers import assert_error, session_client

TOKENS = "/api/v1/tokens/"


@pytest.fixture
def client(team, api_client_for):
    return api_client_for(team["admin"], team["workspace"])


@pytest.fixture
def browser(team):
    """Creating tokens and workspaces needs a browser session, so their input goes through one."""
    return session_client(team["admin"], team["workspace"])


@pytest.fixture
def unchanged(db):
    """Asserts after the test that no token or workspace was written."""
    before = (ApiToken.objects.count(), Workspace.objects.count())
    yield
    assert (ApiToken.objects.count(), Workspace.objects.count()) == before


def _raw_post(client, url, body, content_type="application/json"):
    return client.generic("POST", url, body, content_type=content_type)


@pytest.mark.parametrize(
    "body",
    [b'{"name": "ci"', b"not json", b"\xff\xfe{}", b"[" * 50_000 + b"]" * 50_000, b'{"name": NaN}'],
    ids=["truncated", "not-json", "not-utf8", "nested-too-deep", "nan"],
)
def test_malformed_json_is_a_parse_error(browser, unchanged, body):
    assert_error(_raw_post(browser, TOKENS, body), 400, "parse_error")


@pytest.mark.parametrize(
    "url,payload,field",
    [
        (TOKENS, {"name": 123}, "name"),
        (TOKENS, {"name": ["ci"]}, "name"),
        (TOKENS, {"name": None}, "name"),
        (TOKENS, {"name": "x" * 81}, "name"),
        ("/api/v1/workspaces/", {"name": {"a": 1}}, "name"),
        ("/api/v1/workspaces/", {"name": True}, "name"),
    ],
)
def test_wrong_types_name_the_field(browser, unchanged, url, payload, field):
    error = assert_error(browser.post(url, payload, format="json"), 400, "validation_error")
    assert list(error["fields"]) == [field]


def test_body_that_is_not_an_object(browser, unchanged):
    error = assert_error(browser.post(TOKENS, ["ci"], format="json"), 400, "validation_error")
    assert error["fields"]["non_field_errors"]


def test_unknown_fields_are_refused(browser, unchanged):
    error = assert_error(browser.post(TOKENS, {"name": "ci", "scope": "all"}, format="json"), 400)
    assert error["fields"] == {"scope": ["Unknown field."]}


def test_wrong_role_value_changes_nothing(team, client):
    url = f"/api/v1/workspaces/{team['workspace'].slug}/members/{team['viewer'].pk}/"
    for role in (5, "owner", ["admin"], None):
        assert_error(client.patch(url, {"role": role}, format="json"), 400, "validation_error")
    assert client.get(url).json()["role"] == "viewer"


def test_oversized_body_is_413(browser, unchanged):
    padding = "x" * settings.API_MAX_BODY_BYTES
    assert_error(browser.post(TOKENS, {"name": "ci", "pad": padding}, format="json"), 413, "payload_too_large")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"])
def test_wrong_content_type_is_415(browser, unchanged, content_type):
    assert_error(_raw_post(browser, TOKENS, b"name=ci", content_type), 415, "unsupported_media_type")


def test_unsupported_method_is_405(client):
    assert_error(client.put("/api/v1/me/", {"name": "x"}, format="json"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "path", ["/api/v1/nope/", "/api/v1/tokens/abc/", "/api/v1/me", "/api/v1/workspaces/a%20b/members/"]
)
def test_unknown_routes_are_json_404(client, path):
    client.handler.enforce_csrf_checks = True  # as for a real script: no CSRF cookie, yet a JSON 404
    assert_error(client.get(path), 404, "not_found")
    assert_error(client.post(path, {}, format="json"), 404, "not_found")


def test_out_of_range_ids_are_404(client):
    assert_error(client.delete(f"{TOKENS}{'9' * 30}/"), 404, "not_found")


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer nonsense", "Bearer chub_" + "A" * 43, "Bearer chub_" + "x" * 200, "bearer a b c"],
)
def test_bad_tokens_are_401(db, unchanged, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_other_auth_schemes_are_not_authenticated(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6c2VjcmV0")
    assert_error(client.get("/api/v1/me/"), 401, "not_authenticated")


def test_revoked_token_is_401(team):
    token, raw = api_token_create(user=team["admin"], workspace=team["workspace"], name="old")
    api_token_revoke(token=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_deactivated_users_token_is_401(team, client):
    team["admin"].is_active = False
    team["admin"].save(update_fields=["is_active"])
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_session_writes_need_the_csrf_token(team):
    client = session_client(team["viewer"], team["workspace"], enforce_csrf_checks=True)
    error = assert_error(client.post(TOKENS, {"name": "ci"}, format="json"), 403, "permission_denied")
    assert "CSRF" in error["message"]
    assert not ApiToken.objects.exists()
    secret = "a1" * 16  # the cookie holds the secret; the header may carry it unmasked
    client.cookies[settings.CSRF_COOKIE_NAME] = secret
    assert client.post(TOKENS, {"name": "ci"}, format="json", HTTP_X_CSRFTOKEN=secret).status_code == 201


def test_bearer_writes_need_no_csrf_token(team, api_client_for):
    """Scripts carry no cookies, so a cross-site page cannot ride on a token the way it could on a session."""
    client = api_client_for(team["viewer"], team["workspace"])
    client.handler.enforce_csrf_checks = True
    assert client.patch("/api/v1/me/", {"name": "CI"}, format="json").status_code == 200
