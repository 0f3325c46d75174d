"""Members and invitations through the REST API: invite, list, change roles, remove, leave."""

import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.urls import resolve

from accounts.models import Invitation, Membership, Role
from accounts.tests.factories import MembershipFactory
from computehub.tests.api_helpers import assert_error


@pytest.fixture
def urls(team):
    base = f"/api/v1/workspaces/{team['workspace'].slug}"
    return {
        "members": f"{base}/members/",
        "member": lambda user: f"{base}/members/{user.pk}/",
        "invitations": f"{base}/invitations/",
    }


@pytest.fixture
def admin(team, api_client_for):
    return api_client_for(team["admin"], team["workspace"])


def _role(team, who) -> str | None:
    membership = Membership.objects.filter(workspace=team["workspace"], user=team[who]).first()
    return membership.role if membership else None


def test_member_list_is_paginated(team, urls, api_client_for):
    for n in range(3):
        MembershipFactory(workspace=team["workspace"], role=Role.VIEWER, user__email=f"extra{n}@example.com")
    body = api_client_for(team["viewer"], team["workspace"]).get(urls["members"], {"page_size": 2}).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6 and len(body["results"]) == 2 and body["previous"] is None
    assert "page=2" in body["next"]
    assert set(body["results"][0]) == {"user_id", "email", "name", "role", "joined_at"}
    assert body["results"][0]["email"] == "alice@example.com" and body["results"][0]["role"] == "admin"


def test_page_past_the_end_is_a_json_404(team, urls, admin):
    assert_error(admin.get(urls["members"], {"page": 99}), 404, "not_found")


def test_invite_sends_an_email_with_a_link(team, urls, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(urls["members"], {"email": "Dave@Example.com", "role": "viewer"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "role", "created_at", "expires_at"}  # never the link
    assert (body["email"], body["role"]) == ("dave@example.com", "viewer")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dave@example.com"]
    link = re.search(r"https?://\S+", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    match = resolve(urlparse(link.group(0)).path)
    assert match.url_name == "invitation_accept"
    assert match.kwargs["token"] not in response.content.decode()


def test_invite_refuses_existing_member_and_developers(team, urls, admin, api_client_for):
    assert_error(admin.post(urls["members"], {"email": "bob@example.com"}, format="json"), 400)
    developer = api_client_for(team["developer"], team["workspace"])
    assert_error(developer.post(urls["members"], {"email": "eve@example.com"}, format="json"), 403)
    assert not Invitation.objects.exists()


def test_pending_invitations_listed_and_revoked_by_admins(team, urls, admin, api_client_for):
    invitation_id = admin.post(urls["members"], {"email": "dave@example.com"}, format="json").json()["id"]
    assert_error(api_client_for(team["developer"], team["workspace"]).get(urls["invitations"]), 403)
    listed = admin.get(urls["invitations"]).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == invitation_id
    assert admin.delete(f"{urls['invitations']}{invitation_id}/").status_code == 204
    assert admin.get(urls["invitations"]).json()["count"] == 0
    assert_error(admin.delete(f"{urls['invitations']}{invitation_id}/"), 404)


def test_admin_changes_a_members_role(team, urls, admin):
    response = admin.patch(urls["member"](team["viewer"]), {"role": "developer"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "developer"
    assert _role(team, "viewer") == Role.DEVELOPER
    assert_error(admin.patch(urls["member"](team["viewer"]), {"role": "owner"}, format="json"), 400)
    assert _role(team, "viewer") == Role.DEVELOPER


def test_members_cannot_promote_themselves(team, urls, api_client_for):
    viewer = api_client_for(team["viewer"], team["workspace"])
    assert_error(viewer.patch(urls["member"](team["viewer"]), {"role": "admin"}, format="json"), 403)
    assert _role(team, "viewer") == Role.VIEWER


def test_admin_removes_a_member_and_others_cannot(team, urls, admin, api_client_for):
    developer = api_client_for(team["developer"], team["workspace"])
    assert_error(developer.delete(urls["member"](team["viewer"])), 403)
    assert _role(team, "viewer") == Role.VIEWER
    assert admin.delete(urls["member"](team["viewer"])).status_code == 204
    assert _role(team, "viewer") is None
    assert_error(admin.get(urls["member"](team["viewer"])), 404)


def test_any_member_may_leave(team, urls, api_client_for):
    viewer = api_client_for(team["viewer"], team["workspace"])
    assert viewer.delete(urls["member"](team["viewer"])).status_code == 204
    assert _role(team, "viewer") is None


def test_last_admin_cannot_be_demoted_or_leave(team, urls, admin):
    demote = admin.patch(urls["member"](team["admin"]), {"role": "developer"}, format="json")
    assert_error(demote, 409, "last_admin")
    assert_error(admin.delete(urls["member"](team["admin"])), 409, "last_admin")
    assert _role(team, "admin") == Role.ADMIN


def test_admin_may_step_down_once_another_admin_exists(team, urls, admin):
    assert admin.patch(urls["member"](team["developer"]), {"role": "admin"}, format="json").status_code == 200
    assert admin.delete(urls["member"](team["admin"])).status_code == 204
    assert _role(team, "admin") is None and _role(team, "developer") == Role.ADMIN
