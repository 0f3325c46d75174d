"""Team pages through the test client: members and roles (HTMX rows), invitations, workspaces."""

import re
from urllib.parse import unquote

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from accounts.services import invitation_create, workspace_ensure_personal
from accounts.tests.factories import UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "gpu-rental-Pass1"


def _membership(team, who):
    return Membership.objects.get(workspace=team["workspace"], user=team[who])


@pytest.mark.parametrize("who", ["admin", "developer", "viewer"])
def test_team_page_lists_members_with_roles(client_in, team, who):
    html = client_in(team[who], team["workspace"]).get(reverse("team")).content.decode()
    for email in ("alice@example.com", "bob@example.com", "carol@example.com"):
        assert email in html
    assert "Leave Acme ML" in html
    admin_controls = 'name="role"' in html and "Send invitation" in html
    assert admin_controls is (who == "admin")


def test_team_pages_send_anonymous_visitors_to_login(client, db):
    for name in ("team", "workspace_create", "tokens"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_htmx_call_from_an_expired_session_navigates_to_login(client, team):
    url = reverse("team_member_role", args=[team["developer"].pk])
    response = client.post(url, {"role": "viewer"}, HTTP_HX_CURRENT_URL="http://testserver/team/", **HTMX)
    assert response.headers["HX-Redirect"] == f"{reverse('account_login')}?next=/team/"


def test_admin_changes_a_role_and_gets_just_that_row_back(client_in, team):
    client = client_in(team["admin"], team["workspace"])
    developer = team["developer"]
    response = client.post(reverse("team_member_role", args=[developer.pk]), {"role": "viewer"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="member-{developer.pk}">')
    assert "<html" not in html and '<option value="viewer" selected>' in html
    assert 'hx-swap-oob="beforeend"' in html and "bob@example.com is now Viewer." in html
    assert _membership(team, "developer").role == Role.VIEWER


def test_demoting_the_last_admin_shows_the_error_in_the_row_and_changes_nothing(client_in, team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_member_role", args=[team["admin"].pk]), {"role": "developer"}, **HTMX)
    assert response.status_code == 422  # base.html's htmx-config swaps 422 so the error shows inline
    html = response.content.decode()
    assert f'<tr id="member-{team["admin"].pk}">' in html
    assert "The last Admin cannot be demoted" in html and 'role="alert"' in html
    assert '<option value="admin" selected>' in html
    assert _membership(team, "admin").role == Role.ADMIN


def test_role_change_without_htmx_redirects_with_a_flash(client_in, team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_member_role", args=[team["viewer"].pk]), {"role": "developer"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("team")
    assert "carol@example.com is now Developer." in response.content.decode()


def test_admin_removes_a_member_and_the_row_disappears(client_in, team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_member_remove", args=[team["viewer"].pk]), **HTMX)
    assert response.status_code == 200
    assert "<tr" not in response.content.decode() and "Removed carol@example.com" in response.content.decode()
    assert not Membership.objects.filter(workspace=team["workspace"], user=team["viewer"]).exists()


@pytest.mark.parametrize(
    ("name", "args", "data"),
    [
        ("team_member_role", "developer", {"role": "admin"}),
        ("team_member_remove", "developer", {}),
        ("team_invite", None, {"email": "eve@example.com", "role": "admin"}),
    ],
)
@pytest.mark.parametrize("who", ["viewer", "developer"])
def test_non_admins_get_403_for_team_writes(client_in, team, who, name, args, data):
    url = reverse(name, args=[team[args].pk] if args else [])
    response = client_in(team[who], team["workspace"]).post(url, data, **HTMX)
    assert response.status_code == 403
    assert _membership(team, "developer").role == Role.DEVELOPER
    assert not Invitation.objects.exists()


def test_viewer_403_page_says_which_role_is_needed(client_in, team):
    response = client_in(team["viewer"], team["workspace"]).post(reverse("team_invite"), {"email": "x@example.com"})
    assert response.status_code == 403
    assert "This needs the Admin role in Acme ML; you are Viewer." in response.content.decode()


def test_members_of_another_workspace_are_404(client_in, team, other_team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_member_role", args=[other_team["admin"].pk]), {"role": "viewer"}, **HTMX)
    assert response.status_code == 404


def test_invite_errors_show_inline_in_the_swapped_section(client_in, team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_invite"), {"email": "bob@example.com", "role": "viewer"}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert html.strip().startswith('<section class="card" id="invitations"') and "Already a member." in html


def test_invitations_need_a_team_workspace(client_in, team):
    personal = workspace_ensure_personal(user=team["admin"])
    client = client_in(team["admin"], personal)
    html = client.get(reverse("team")).content.decode()
    assert "invitations need one" in html and reverse("workspace_create") in html
    assert "Send invitation" not in html and "Leave " not in html
    response = client.post(reverse("team_invite"), {"email": "eve@example.com", "role": "viewer"}, **HTMX)
    assert response.status_code == 422 and "Create a team workspace to invite people." in response.content.decode()


def test_admin_revokes_a_pending_invitation(client_in, team, django_capture_on_commit_callbacks):
    invitation = invitation_create(workspace=team["workspace"], email="eve@example.com", role="viewer", invited_by=team["admin"])
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_invitation_revoke", args=[invitation.pk]), **HTMX)
    assert response.status_code == 200
    assert "eve@example.com" in response.content.decode()  # only in the "Revoked ..." toast
    assert "No pending invitations" in response.content.decode()
    assert not Invitation.objects.exists()


def test_invite_flow_from_email_to_membership(client_in, client, team, django_capture_on_commit_callbacks):
    admin = client_in(team["admin"], team["workspace"])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("team_invite"), {"email": "dave@example.com", "role": "viewer"}, **HTMX)
    assert response.status_code == 200 and "Invitation sent to dave@example.com." in response.content.decode()
    assert "dave@example.com" in response.content.decode()
    path = _link(mail.outbox[-1].body, "/invitations/")

    # The invitee has no account: the link sends them to sign in, they sign up from there instead,
    # and allauth carries `next` through the email confirmation back to the invitation.
    response = client.get(path)
    assert response.status_code == 302 and unquote(response.url) == f"{reverse('account_login')}?next={path}"
    signup = {"email": "dave@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": path}
    assert client.post(reverse("account_signup"), signup).status_code == 302
    confirm = _link(mail.outbox[-1].body, "/accounts/confirm-email/")
    response = client.post(confirm)
    assert response.status_code == 302 and response.url == path

    assert "Join Acme ML as Viewer" in client.get(path).content.decode()
    response = client.post(path)
    assert response.status_code == 302 and response.url == reverse("team")
    assert Membership.objects.get(workspace=team["workspace"], user__email="dave@example.com").role == Role.VIEWER
    team_page = client.get(reverse("team")).content.decode()
    assert "Welcome to Acme ML! You joined as Viewer." in team_page
    assert f'<option value="{team["workspace"].slug}" selected>' in team_page  # switched to it
    assert "already used" in client.get(path).content.decode()  # the link works once


def test_invitation_for_another_address_is_refused_on_the_page(client_in, team):
    invitation = invitation_create(workspace=team["workspace"], email="dave@example.com", role="viewer", invited_by=team["admin"])
    client = client_in(UserFactory(email="erin@example.com"))
    path = reverse("invitation_accept", args=[_token(invitation)])
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 403
        assert "This invitation is for dave@example.com." in response.content.decode()
        assert "erin@example.com" in response.content.decode()  # says who is signed in
    assert not Membership.objects.filter(user__email="erin@example.com", workspace=team["workspace"]).exists()


def test_broken_and_duplicate_invitations_show_clear_errors(client_in, team):
    invitation = invitation_create(workspace=team["workspace"], email="dave@example.com", role="viewer", invited_by=team["admin"])
    dave = UserFactory(email="dave@example.com")
    Membership.objects.create(workspace=team["workspace"], user=dave, role=Role.DEVELOPER)  # joined another way
    client = client_in(dave)
    already = client.get(reverse("invitation_accept", args=[_token(invitation)]))
    assert already.status_code == 400 and "You are already a member of this workspace." in already.content.decode()
    broken = client.get(reverse("invitation_accept", args=["not-a-token"]))
    assert broken.status_code == 400 and "This invitation link is not valid." in broken.content.decode()


def _link(body: str, prefix: str) -> str:
    return re.search(rf"https?://[^/\s]+({prefix}\S+/)", body).group(1)


def _token(invitation):
    from accounts.services import invitation_token

    return invitation_token(invitation)


def test_create_team_workspace_switches_to_it(client_in, team):
    client = client_in(team["viewer"], team["workspace"])
    assert client.get(reverse("workspace_create")).status_code == 200
    response = client.post(reverse("workspace_create"), {"name": "Carol Labs"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("team")
    html = response.content.decode()
    assert "Created Carol Labs." in html and "Send invitation" in html  # Admin of the new one
    assert Membership.objects.get(workspace__name="Carol Labs", user=team["viewer"]).role == Role.ADMIN


def test_create_workspace_needs_a_name(client_in, team):
    response = client_in(team["viewer"]).post(reverse("workspace_create"), {"name": "   "})
    assert response.status_code == 422 and "This field is required." in response.content.decode()


def test_switch_workspace_goes_back_to_a_safe_next(client_in, team, other_team):
    client = client_in(team["admin"], team["workspace"])
    personal = workspace_ensure_personal(user=team["admin"])
    response = client.post(reverse("workspace_switch"), {"workspace": personal.slug, "next": "/prices/"})
    assert response.status_code == 302 and response.url == "/prices/"
    assert f'<option value="{personal.slug}" selected>' in client.get("/prices/").content.decode()
    response = client.post(reverse("workspace_switch"), {"workspace": personal.slug, "next": "https://evil.example/"})
    assert response.url == reverse("dashboard")


def test_switching_from_an_object_page_lands_on_its_section(client_in, team):
    """The object belongs to the workspace just left; its page would be a 404 in the other one."""
    client = client_in(team["admin"], team["workspace"])
    personal = workspace_ensure_personal(user=team["admin"])
    deployment_page = "/deployments/6f1c2a52-3d4e-4f00-8a1b-2c3d4e5f6a7b/"
    response = client.post(reverse("workspace_switch"), {"workspace": personal.slug, "next": deployment_page})
    assert response.url == "/deployments/"
    response = client.post(reverse("workspace_switch"), {"workspace": personal.slug, "next": "/no/such/page/"})
    assert response.url == reverse("dashboard")


def test_switching_to_a_workspace_you_are_not_in_is_404(client_in, team, other_team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("workspace_switch"), {"workspace": other_team["workspace"].slug})
    assert response.status_code == 404
    assert 'selected>Acme ML<' in client.get(reverse("dashboard")).content.decode()


def test_switcher_new_option_opens_the_create_page(client_in, team):
    response = client_in(team["admin"]).post(reverse("workspace_switch"), {"workspace": "__new__"})
    assert response.url == reverse("workspace_create")


def test_member_leaves_a_team_workspace(client_in, team):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(reverse("team_leave"), **HTMX)
    assert response.headers["HX-Redirect"] == reverse("dashboard")
    assert not Membership.objects.filter(workspace=team["workspace"], user=team["developer"]).exists()
    assert "You left Acme ML." in client.get(reverse("dashboard")).content.decode()


def test_last_admin_cannot_leave(client_in, team):
    client = client_in(team["admin"], team["workspace"])
    response = client.post(reverse("team_leave"), follow=True)
    assert "The last Admin cannot leave" in response.content.decode()
    assert _membership(team, "admin").role == Role.ADMIN
