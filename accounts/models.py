"""People, the workspaces (teams) they work in, their roles, invitations and API tokens."""

import uuid

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Signs in with an email address; there is no username."""

    username = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.name or self.email


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ADMIN: 2}


def role_allows(role: str, required: str) -> bool:
    """Admin can do what a Developer can, who can do what a Viewer can."""
    return ROLE_RANK[Role(role)] >= ROLE_RANK[Role(required)]


class Workspace(models.Model):
    """A team. Every user has a personal one; everything a user manages belongs to one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=60, unique=True)
    is_personal = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_personal", "name"]
        constraints = [
            # Two concurrent first requests must not both create one (see workspace_ensure_personal).
            models.UniqueConstraint(
                fields=["created_by"], condition=models.Q(is_personal=True), name="workspace_one_personal_per_user"
            )
        ]

    def __str__(self):
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique")]
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"

    def allows(self, required: str) -> bool:
        return role_allows(self.role, required)


class Invitation(models.Model):
    """An emailed link that makes its recipient a member with the given role.

    The link carries a signed, expiring copy of `id` (see accounts.services), so no secret is stored.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.workspace}"


class ApiToken(models.Model):
    """A personal token acting in one workspace with its owner's role there. Only a hash is kept."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class WorkspaceKeyPair(models.Model):
    """ComputeHub's own SSH key pair for a workspace: the public half goes onto every instance it
    launches, the private half (encrypted, computehub.crypto) lets it browse files over SFTP.
    Rotating replaces both in place; instances launched earlier still trust the old public key."""

    # A UUID known before the first save, so the private key is encrypted with this row's AAD at once.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="ssh_key_pair")
    public_key = models.TextField()
    private_key = models.TextField(help_text="Encrypted OpenSSH private key; never shown or returned.")
    fingerprint = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    def __str__(self):
        return f"{self.workspace} key {self.fingerprint}"


class MemberSshKey(models.Model):
    """A member's own public key (from their laptop), installed on every instance the workspace launches."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="member_ssh_keys")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ssh_keys")
    name = models.CharField(max_length=80)
    public_key = models.TextField()
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["workspace", "fingerprint"], name="member_ssh_key_unique")]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"


class SshKnownHost(models.Model):
    """The host key a deployment's instance presented on first SFTP use (trust on first use):
    later connections must present the same key or are refused. Keyed by deployment id (a plain
    UUID: deployments depend on accounts, not the other way round) and address, because a
    restarted instance may come back on another address with a new key."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deployment_id = models.UUIDField()
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField()
    host_key = models.TextField(help_text="The server's public host key, OpenSSH format.")
    fingerprint = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment_id", "host", "port"], name="ssh_known_host_unique")]

    def __str__(self):
        return f"{self.host}:{self.port} {self.fingerprint}"
