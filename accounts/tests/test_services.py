import pytest

from accounts.models import Invitation, Membership, Role, Workspace
from accounts.services import membership_change_role, membership_remove
from computehub.errors import ApplicationError


def test_last_admin_cannot_be_demoted_or_leave(team):
    admin_membership = Membership.objects.get(workspace=team["workspace"], user=team["admin"])
    with pytest.raises(ApplicationError, match="last Admin"):
        membership_change_role(membership=admin_membership, role=Role.VIEWER)
    with pytest.raises(ApplicationError, match="last Admin"):
        membership_remove(membership=admin_membership)
    admin_membership.refresh_from_db()
    assert admin_membership.role == Role.ADMIN


def test_admin_can_step_down_once_another_admin_exists(team):
    dev = Membership.objects.get(workspace=team["workspace"], user=team["developer"])
    membership_change_role(membership=dev, role=Role.ADMIN)
    admin_membership = Membership.objects.get(workspace=team["workspace"], user=team["admin"])
    membership_change_role(membership=admin_membership, role=Role.VIEWER)
    assert admin_membership.role == Role.VIEWER


# --- Races --------------------------------------------------------------------------------------


def _invite(team, email="dana@example.com"):
    from accounts.services import invitation_create, invitation_token
    from accounts.tests.factories import UserFactory

    invitation = invitation_create(workspace=team["workspace"], email=email, role=Role.DEVELOPER, invited_by=team["admin"])
    return invitation_token(invitation), UserFactory(email=email)


def test_invitation_withdrawn_between_check_and_accept_is_a_clear_error(team, monkeypatch):
    """An Admin revokes while the invitee clicks Accept: no 500, no membership."""
    from accounts import services

    token, dana = _invite(team)
    real_check = services.invitation_check

    def check_then_revoke(**kwargs):
        invitation = real_check(**kwargs)
        Invitation.objects.filter(pk=invitation.pk).delete()  # the revoke lands right here
        return invitation

    monkeypatch.setattr(services, "invitation_check", check_then_revoke)
    with pytest.raises(ApplicationError, match="This invitation was withdrawn."):
        services.invitation_accept(token=token, user=dana)
    assert not Membership.objects.filter(workspace=team["workspace"], user=dana).exists()


def test_invitation_accept_still_works(team):
    from accounts.services import invitation_accept

    token, dana = _invite(team)
    assert invitation_accept(token=token, user=dana).role == Role.DEVELOPER
    assert Invitation.objects.get(email="dana@example.com").accepted_by == dana


def test_two_first_requests_yield_one_personal_workspace(db, monkeypatch):
    """Both requests' checks saw no personal workspace; the second create must return the first's."""
    from accounts import selectors, services
    from accounts.tests.factories import UserFactory

    user = UserFactory(email="erin@example.com")
    first = services.workspace_ensure_personal(user=user)
    real_lookup = selectors.personal_workspace_for
    calls = []

    def missed_first_time(*, user):
        calls.append(user)
        return None if len(calls) == 1 else real_lookup(user=user)

    monkeypatch.setattr(services.selectors, "personal_workspace_for", missed_first_time)
    second = services.workspace_ensure_personal(user=user)
    assert second == first
    assert Workspace.objects.filter(created_by=user, is_personal=True).count() == 1
    assert Membership.objects.filter(user=user).count() == 1
