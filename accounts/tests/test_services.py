import pytest

from accounts.models import Membership, Role
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
