"""me/ and workspaces/ through the REST API."""

from accounts.models import Membership, Role, Workspace
from accounts.services import workspace_ensure_personal
from accounts.tests.factories import MembershipFactory
from computehub.tests.api_helpers import assert_error, session_client

ME = "/api/v1/me/"
WORKSPACES = "/api/v1/workspaces/"


def test_me_shows_identity_acting_workspace_and_memberships(team, other_team, api_client_for):
    MembershipFactory(workspace=other_team["workspace"], user=team["developer"], role=Role.VIEWER)
    body = api_client_for(team["developer"], team["workspace"]).get(ME).json()
    assert body["email"] == "bob@example.com" and body["id"] == team["developer"].pk
    assert body["workspace"]["slug"] == team["workspace"].slug and body["workspace"]["role"] == "developer"
    # A token acts in one workspace and does not reveal the others.
    assert [m["slug"] for m in body["memberships"]] == [team["workspace"].slug]

    session = session_client(team["developer"], other_team["workspace"]).get(ME).json()
    assert session["workspace"]["slug"] == other_team["workspace"].slug and session["workspace"]["role"] == "viewer"
    assert {m["slug"] for m in session["memberships"]} == {team["workspace"].slug, other_team["workspace"].slug}


def test_me_patch_changes_only_the_name(team, api_client_for):
    client = api_client_for(team["viewer"], team["workspace"])
    response = client.patch(ME, {"name": "  Carol C.  "}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Carol C."
    assert_error(client.patch(ME, {"email": "evil@example.com"}, format="json"), 400, "validation_error")
    team["viewer"].refresh_from_db()
    assert (team["viewer"].name, team["viewer"].email) == ("Carol C.", "carol@example.com")


def test_workspace_list_shows_callers_workspaces_with_role(team, other_team):
    MembershipFactory(workspace=other_team["workspace"], user=team["viewer"], role=Role.DEVELOPER)
    personal = workspace_ensure_personal(user=team["viewer"])
    body = session_client(team["viewer"], team["workspace"]).get(WORKSPACES).json()
    assert body["count"] == 3
    roles = {w["slug"]: w["role"] for w in body["results"]}
    assert roles == {personal.slug: "admin", team["workspace"].slug: "viewer", other_team["workspace"].slug: "developer"}


def test_create_workspace_makes_caller_admin(team):
    response = session_client(team["viewer"], team["workspace"]).post(WORKSPACES, {"name": "Side Project"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["role"], body["is_personal"]) == ("Side Project", "admin", False)
    workspace = Workspace.objects.get(slug=body["slug"])
    assert Membership.objects.get(workspace=workspace).user == team["viewer"]


def test_create_workspace_requires_a_name(team):
    client = session_client(team["admin"], team["workspace"])
    before = Workspace.objects.count()
    assert assert_error(client.post(WORKSPACES, {"name": "   "}, format="json"), 400)["fields"]["name"]
    assert assert_error(client.post(WORKSPACES, {}, format="json"), 400)["fields"]["name"]
    assert Workspace.objects.count() == before


def test_workspace_detail_rename_and_roles(team, api_client_for):
    url = f"{WORKSPACES}{team['workspace'].slug}/"
    developer = api_client_for(team["developer"], team["workspace"])
    assert developer.get(url).json()["role"] == "developer"
    assert_error(developer.patch(url, {"name": "Mine now"}, format="json"), 403, "permission_denied")
    admin = api_client_for(team["admin"], team["workspace"])
    response = admin.patch(url, {"name": "Acme Research"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Acme Research"
    assert response.json()["slug"] == team["workspace"].slug  # links keep working after a rename


def test_delete_team_workspace(team, api_client_for):
    url = f"{WORKSPACES}{team['workspace'].slug}/"
    assert_error(api_client_for(team["developer"], team["workspace"]).delete(url), 403)
    assert api_client_for(team["admin"], team["workspace"]).delete(url).status_code == 204
    assert not Workspace.objects.filter(pk=team["workspace"].pk).exists()


def test_personal_workspace_cannot_be_deleted(team):
    personal = workspace_ensure_personal(user=team["admin"])
    client = session_client(team["admin"], personal)
    assert_error(client.delete(f"{WORKSPACES}{personal.slug}/"), 400, "personal_workspace")
    assert Workspace.objects.filter(pk=personal.pk).exists()
