"""Reads of accounts data. Every read is scoped to a user or a workspace."""

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import ApiToken, Invitation, Membership, User, Workspace


def workspaces_for_user(*, user) -> QuerySet[Workspace]:
    return Workspace.objects.filter(memberships__user=user).order_by("-is_personal", "name")


def workspace_get_for_user(*, user, slug: str) -> Workspace:
    """The workspace with this slug if `user` is a member; 404 otherwise, so foreign ones stay unseen."""
    workspace = workspaces_for_user(user=user).filter(slug=slug).first()
    if workspace is None:
        raise Http404("No such workspace.")
    return workspace


def workspace_for_member(*, user, slug: str | None = None, workspace_id=None) -> Workspace | None:
    """The workspace named by `slug` or `workspace_id` if `user` is a member, else None (a caller
    such as a WebSocket turns None into its own refusal rather than a 404 page)."""
    if not slug and not workspace_id:
        return None
    workspaces = workspaces_for_user(user=user)
    try:
        return workspaces.filter(slug=slug).first() if slug else workspaces.filter(pk=workspace_id).first()
    except ValidationError:  # an id that is not a UUID (for example a stale session value)
        return None


def workspaces_with_role(*, user, only: Workspace | None = None) -> QuerySet[Workspace]:
    """The user's workspaces, each annotated with the user's `role` there; `only` narrows the
    list to one workspace (a Bearer token sees only the workspace it acts in)."""
    role = Membership.objects.filter(workspace=OuterRef("pk"), user=user).values("role")[:1]
    workspaces = workspaces_for_user(user=user).annotate(role=Subquery(role))
    return workspaces.filter(pk=only.pk) if only is not None else workspaces


def workspace_with_role(*, user, workspace: Workspace) -> Workspace:
    """`workspace` re-read with the user's `role` annotated; 404 if they are not a member."""
    found = workspaces_with_role(user=user, only=workspace).first()
    if found is None:
        raise Http404("No such workspace.")
    return found


def workspace_by_slug(*, slug: str) -> Workspace | None:
    """Unscoped lookup for operators (management commands); requests use workspace_get_for_user."""
    return Workspace.objects.filter(slug=slug).first()


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=(email or "").strip()).first()


def personal_workspace_for(*, user) -> Workspace | None:
    return workspaces_for_user(user=user).filter(is_personal=True, created_by=user).first()


def membership_get(*, user, workspace) -> Membership | None:
    if user is None or not user.is_authenticated or workspace is None:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).select_related("workspace").first()


def memberships_for_workspace(*, workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("created_at")


def membership_get_in_workspace(*, workspace, user_id) -> Membership:
    membership = memberships_for_workspace(workspace=workspace).filter(user_id=user_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def admin_count(*, workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role="admin").count()


def invitations_pending(*, workspace) -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        workspace=workspace, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def invitation_get_in_workspace(*, workspace, invitation_id) -> Invitation:
    invitation = invitations_pending(workspace=workspace).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation


def api_tokens_for(*, user, workspace) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, workspace=workspace, revoked_at__isnull=True)


def api_token_get_for(*, user, workspace, token_id) -> ApiToken:
    token = api_tokens_for(user=user, workspace=workspace).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token


def api_token_by_hash(*, token_hash: str) -> ApiToken | None:
    return (
        ApiToken.objects.filter(token_hash=token_hash, revoked_at__isnull=True)
        .select_related("user", "workspace")
        .first()
    )
