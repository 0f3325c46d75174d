"""API tokens through the REST API: created once, used, listed, revoked; one workspace each."""

from rest_framework.test import APIClient

from accounts.models import ApiToken, Membership, Role, Workspace
from accounts.services import api_token_create
from accounts.tests.factories import MembershipFactory
from computehub.tests.api_helpers import assert_error, session_client

TOKENS = "/api/v1/tokens/"


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_token_lifecycle_create_use_revoke(team):
    owner = session_client(team["developer"], team["workspace"])
    created = owner.post(TOKENS, {"name": "ci"}, format="json")
    assert created.status_code == 201
    assert "no-store" in created["Cache-Control"]  # the raw token must not linger in a cache
    body = created.json()
    assert set(body) == {"id", "name", "prefix", "created_at", "last_used_at", "token"}
    assert body["token"].startswith(body["prefix"]) and body["last_used_at"] is None

    script = _bearer(body["token"])
    me = script.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["email"] == "bob@example.com"
    assert ApiToken.objects.get(pk=body["id"]).last_used_at is not None

    assert owner.delete(f"{TOKENS}{body['id']}/").status_code == 204
    assert_error(script.get("/api/v1/me/"), 401, "authentication_failed")


def test_raw_token_is_shown_only_at_creation(team):
    client = session_client(team["admin"], team["workspace"])
    raw = client.post(TOKENS, {"name": "once"}, format="json").json()["token"]
    listed = client.get(TOKENS).json()["results"]
    assert {t["name"] for t in listed} == {"once"}
    assert raw not in str(listed) and all("token" not in t for t in listed)


def test_list_shows_only_own_live_tokens_in_the_acting_workspace(team, other_team, api_client_for):
    MembershipFactory(workspace=other_team["workspace"], user=team["admin"], role=Role.ADMIN)
    mine = api_client_for(team["admin"], team["workspace"])
    api_client_for(team["developer"], team["workspace"])  # a colleague's token
    api_client_for(team["admin"], other_team["workspace"])  # own token elsewhere
    revoked = api_token_create(user=team["admin"], workspace=team["workspace"], name="old")[0].pk
    mine.delete(f"{TOKENS}{revoked}/")
    listed = mine.get(TOKENS).json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "test"


def test_someone_elses_token_is_not_found_and_stays_live(team, api_client_for):
    admin = api_client_for(team["admin"], team["workspace"])
    dev_token = api_client_for(team["developer"], team["workspace"])
    dev_token_id = ApiToken.objects.get(user=team["developer"]).pk
    assert_error(admin.delete(f"{TOKENS}{dev_token_id}/"), 404, "not_found")
    assert dev_token.get("/api/v1/me/").status_code == 200


def test_viewer_token_can_be_created_but_only_reads(team):
    viewer = session_client(team["viewer"], team["workspace"])
    raw = viewer.post(TOKENS, {"name": "read-only script"}, format="json").json()["token"]
    script = _bearer(raw)
    assert script.get(f"/api/v1/workspaces/{team['workspace'].slug}/members/").status_code == 200
    invite = script.post(f"/api/v1/workspaces/{team['workspace'].slug}/members/", {"email": "x@example.com"}, format="json")
    assert_error(invite, 403, "permission_denied")


def test_token_of_workspace_a_cannot_address_workspace_b(team, other_team, api_client_for):
    """Even when the owner belongs to both: a token acts in its own workspace only."""
    MembershipFactory(workspace=other_team["workspace"], user=team["admin"], role=Role.ADMIN)
    client = api_client_for(team["admin"], team["workspace"])
    other = other_team["workspace"]
    for url in (f"/api/v1/workspaces/{other.slug}/", f"/api/v1/workspaces/{other.slug}/members/"):
        assert_error(client.get(url), 404, "not_found")
    assert_error(client.patch(f"/api/v1/workspaces/{other.slug}/", {"name": "Taken"}, format="json"), 404)
    other.refresh_from_db()
    assert other.name == "Other Co"
    assert [w["slug"] for w in client.get("/api/v1/workspaces/").json()["results"]] == [team["workspace"].slug]


def test_removed_members_tokens_stop_working(team, api_client_for):
    developer = api_client_for(team["developer"], team["workspace"])
    admin = api_client_for(team["admin"], team["workspace"])
    url = f"/api/v1/workspaces/{team['workspace'].slug}/members/{team['developer'].pk}/"
    assert admin.delete(url).status_code == 204
    assert not Membership.objects.filter(user=team["developer"], workspace=team["workspace"]).exists()
    assert_error(developer.get("/api/v1/me/"), 401, "authentication_failed")


def test_a_token_cannot_mint_tokens_or_workspaces(team, api_client_for):
    """A leaked token must not create permanent successors (DESIGN §5: it acts in one workspace)."""
    script = api_client_for(team["admin"], team["workspace"])
    before = (ApiToken.objects.count(), Workspace.objects.count())
    for url, body in ((TOKENS, {"name": "successor"}), ("/api/v1/workspaces/", {"name": "Escape hatch"})):
        error = assert_error(script.post(url, body, format="json"), 403, "permission_denied")
        assert error["message"] == "Create tokens and workspaces from a signed-in browser session."
    assert (ApiToken.objects.count(), Workspace.objects.count()) == before
