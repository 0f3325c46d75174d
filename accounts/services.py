"""Writes for accounts: workspaces, memberships, invitations, API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import selectors
from accounts.models import ApiToken, Invitation, Membership, Role, Workspace
from computehub import realtime
from computehub.errors import ApplicationError

INVITATION_SALT = "computehub.invitation"
INVITATION_TTL = timedelta(days=7)
TOKEN_PREFIX = "chub_"
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:48] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, created_by, is_personal: bool = False) -> Workspace:
    name = name.strip()
    if not name:
        raise ApplicationError("Give the workspace a name.", fields={"name": ["This field is required."]})
    workspace = Workspace.objects.create(
        name=name[:80], slug=_unique_slug(name), is_personal=is_personal, created_by=created_by
    )
    Membership.objects.create(workspace=workspace, user=created_by, role=Role.ADMIN)
    _connect_default_providers(workspace)
    return workspace


def _connect_default_providers(workspace: Workspace) -> None:
    """Sandbox accounts and this machine (when the operator enabled them), with offers fetched
    right away in the worker, so a new user's Prices page fills within seconds."""
    from pricing.services import offer_refresh_request  # inside: both apps import accounts
    from providers.services import workspace_connect_defaults

    if workspace_connect_defaults(workspace=workspace):
        offer_refresh_request(workspace=workspace)


def workspace_ensure_personal(*, user) -> Workspace:
    """Every user has a personal workspace from their first sign-in."""
    existing = selectors.personal_workspace_for(user=user)
    if existing is not None:
        return existing
    label = (user.name or user.email.split("@")[0]).strip() or "Personal"
    try:
        # A savepoint: two first requests can both pass the check above; the unique constraint
        # (one personal workspace per user) refuses the second, which then uses the first's.
        with transaction.atomic():
            return workspace_create(name=f"{label}'s workspace", created_by=user, is_personal=True)
    except IntegrityError:
        existing = selectors.personal_workspace_for(user=user)
        if existing is None:  # some other constraint failed (a slug race): not ours to hide
            raise
        return existing


def workspace_update(*, workspace: Workspace, name: str) -> Workspace:
    name = name.strip()
    if not name:
        raise ApplicationError("Give the workspace a name.", fields={"name": ["This field is required."]})
    workspace.name = name[:80]
    workspace.save(update_fields=["name"])
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace) -> None:
    if workspace.is_personal:
        raise ApplicationError("A personal workspace cannot be deleted.", code="personal_workspace")
    member_ids = list(selectors.memberships_for_workspace(workspace=workspace).values_list("user_id", flat=True))
    workspace_id = workspace.pk
    workspace.delete()
    for user_id in member_ids:
        _close_sockets_on_commit(workspace_id=workspace_id, user_id=user_id)


def _close_sockets_on_commit(*, workspace_id, user_id) -> None:
    """Open sockets were authorised at connect; once the membership is gone, close them."""
    transaction.on_commit(lambda: realtime.publish_membership_revoked(workspace_id=workspace_id, user_id=user_id))


# --- People ---------------------------------------------------------------------------------


def user_update(*, user, name: str):
    """Profile edits a person makes themselves (the display name; email changes go through allauth)."""
    user.name = (name or "").strip()[:150]
    user.save(update_fields=["name"])
    return user


# --- Members --------------------------------------------------------------------------------


def _lock_admins(workspace: Workspace) -> int:
    """Count admins while holding their rows, so two demotions cannot both pass the check."""
    return len(list(Membership.objects.select_for_update().filter(workspace=workspace, role=Role.ADMIN)))


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", fields={"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if membership.role == Role.ADMIN and role != Role.ADMIN and _lock_admins(membership.workspace) <= 1:
        raise ApplicationError(
            "The last Admin cannot be demoted. Make someone else Admin first.", code="last_admin", status=409
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member (or let one leave). Their tokens for this workspace stop working."""
    if membership.role == Role.ADMIN and _lock_admins(membership.workspace) <= 1:
        raise ApplicationError(
            "The last Admin cannot leave or be removed. Make someone else Admin first.",
            code="last_admin",
            status=409,
        )
    if membership.workspace.is_personal and membership.user_id == membership.workspace.created_by_id:
        raise ApplicationError("You cannot leave your personal workspace.", code="personal_workspace", status=409)
    ApiToken.objects.filter(workspace=membership.workspace, user=membership.user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    membership.delete()
    _close_sockets_on_commit(workspace_id=membership.workspace_id, user_id=membership.user_id)


# --- Invitations -----------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(str(invitation.pk), salt=INVITATION_SALT, compress=True)


def invitation_url(invitation: Invitation) -> str:
    from django.conf import settings
    from django.urls import reverse

    return settings.SITE_URL + reverse("invitation_accept", args=[invitation_token(invitation)])


def _validate_invitation(*, workspace: Workspace, email: str, role: str) -> str:
    email = (email or "").strip().lower()
    if workspace.is_personal:
        raise ApplicationError("Create a team workspace to invite people.", code="personal_workspace")
    if role not in Role.values:
        raise ApplicationError("Unknown role.", fields={"role": [f"Choose one of: {', '.join(Role.values)}."]})
    if selectors.memberships_for_workspace(workspace=workspace).filter(user__email__iexact=email).exists():
        raise ApplicationError(f"{email} is already a member.", fields={"email": ["Already a member."]})
    return email


@transaction.atomic
def invitation_create(*, workspace: Workspace, email: str, role: str, invited_by) -> Invitation:
    """Create the invitation and email the link from the worker."""
    email = _validate_invitation(workspace=workspace, email=email, role=role)
    selectors.invitations_pending(workspace=workspace).filter(email__iexact=email).delete()
    invitation = Invitation.objects.create(
        workspace=workspace,
        email=email,
        role=role,
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    from accounts.tasks import invitation_send_task

    transaction.on_commit(lambda: invitation_send_task(invitation.pk))
    return invitation


def invitation_send_email(*, invitation_id) -> None:
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    invitation = Invitation.objects.select_related("workspace", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        return
    context = {"invitation": invitation, "url": invitation_url(invitation)}
    subject = f"[ComputeHub] Join {invitation.workspace.name}"
    send_mail(subject, render_to_string("accounts/email/invitation.txt", context), None, [invitation.email])
    realtime.publish_workspace_toast(
        workspace_id=invitation.workspace_id, message=f"Invitation email sent to {invitation.email}."
    )


def invitation_from_token(token: str) -> Invitation:
    try:
        invitation_id = signing.loads(token, salt=INVITATION_SALT, max_age=INVITATION_TTL)
    except signing.SignatureExpired:
        raise ApplicationError("This invitation has expired. Ask for a new one.", code="invitation_expired")
    except signing.BadSignature:
        raise ApplicationError("This invitation link is not valid.", code="invitation_invalid")
    invitation = Invitation.objects.select_related("workspace").filter(pk=invitation_id).first()
    if invitation is None:
        raise ApplicationError("This invitation was withdrawn.", code="invitation_invalid")
    return invitation


def invitation_check(*, token: str, user) -> Invitation:
    """The invitation behind `token` if `user` may accept it now; otherwise ApplicationError says why.

    The accept page calls this before showing its button, so refusals appear before the click."""
    invitation = invitation_from_token(token)
    if invitation.accepted_at is not None or invitation.expires_at <= timezone.now():
        raise ApplicationError("This invitation was already used or has expired.", code="invitation_used")
    if invitation.email.lower() != user.email.lower():
        raise ApplicationError(
            f"This invitation is for {invitation.email}. Sign in with that address to accept it.",
            code="invitation_wrong_user",
            status=403,
        )
    if selectors.membership_get(user=user, workspace=invitation.workspace) is not None:
        raise ApplicationError("You are already a member of this workspace.", code="already_member")
    return invitation


def _lock_invitation(invitation: Invitation) -> Invitation:
    """Hold the invitation's row until commit, so a revoke cannot delete it under the accept
    (saving a deleted row would fail with a 500); if it went already, say so."""
    locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).select_related("workspace").first()
    if locked is None:
        raise ApplicationError("This invitation was withdrawn.", code="invitation_invalid")
    if locked.accepted_at is not None:
        raise ApplicationError("This invitation was already used or has expired.", code="invitation_used")
    return locked


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    invitation = _lock_invitation(invitation_check(token=token, user=user))
    try:
        with transaction.atomic():
            membership = Membership.objects.create(workspace=invitation.workspace, user=user, role=invitation.role)
    except IntegrityError:
        raise ApplicationError("You are already a member of this workspace.", code="already_member")
    invitation.accepted_at, invitation.accepted_by = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    transaction.on_commit(
        lambda: realtime.publish_workspace_toast(
            workspace_id=invitation.workspace_id, message=f"{user.email} joined as {membership.get_role_display()}."
        )
    )
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    invitation.delete()


def invitation_purge_expired() -> int:
    """Delete unaccepted invitations whose link has expired; returns how many."""
    deleted, _ = Invitation.objects.filter(accepted_at__isnull=True, expires_at__lte=timezone.now()).delete()
    return deleted


# --- API tokens ------------------------------------------------------------------------------


def hash_token(raw: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough (no salt or stretching needed)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user, workspace: Workspace, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Name the token so you can recognise it later.", fields={"name": ["Required."]})
    if selectors.membership_get(user=user, workspace=workspace) is None:
        raise ApplicationError("You are not a member of this workspace.", status=403, code="not_member")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, workspace=workspace, name=name[:80], prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(raw)
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The live token for `raw` whose owner is still a member, with last-used time kept fresh."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = selectors.api_token_by_hash(token_hash=hash_token(raw))
    if token is None or not token.user.is_active:
        return None
    if selectors.membership_get(user=token.user, workspace=token.workspace) is None:
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    """Record use at most once a minute, so busy scripts do not write on every request."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
