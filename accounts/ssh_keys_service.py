"""Writes for a workspace's SSH keys: ComputeHub's own key pair, members' public keys, and the
host keys instances presented (trust on first use).

The private key is generated here, stored encrypted with its row's associated data
(computehub.crypto) and only ever decrypted for an SFTP connection: no message, log or response
carries it. Public keys are parsed with cryptography, so a typo is a field error, not a broken
authorized_keys line on every instance launched afterwards.
"""

import base64
import hashlib
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import ssh_keys_selectors as ssh_selectors
from accounts.models import MemberSshKey, Role, SshKnownHost, Workspace, WorkspaceKeyPair
from computehub import crypto
from computehub.errors import ApplicationError

PRIVATE_KEY_FIELD = "private_key"
NAME_MAX = 80
PUBLIC_KEY_MAX = 16_384  # an RSA-16384 key is ~2.8 KB; anything much longer is not a key
_COMMENT_UNSAFE = re.compile(r"[^\w.@+:=-]")


def key_pair_aad(pair: WorkspaceKeyPair) -> str:
    return crypto.aad_for("accounts.workspacekeypair", PRIVATE_KEY_FIELD, pair.workspace_id, pair.pk)


def openssh_fingerprint(public_key: str) -> str:
    """What `ssh-keygen -lf` prints: SHA256 of the key blob, unpadded base64."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def public_key_clean(text: str) -> str:
    """The key as one authorized_keys line ("type base64 comment"), or an ApplicationError on the
    `public_key` field. Parsing with cryptography catches truncated pastes and private keys."""
    text = (text or "").strip() if isinstance(text, str) else ""
    problem = _public_key_problem(text)
    if problem:
        raise ApplicationError(problem, fields={"public_key": [problem]})
    key_type, blob, *comment = text.split()
    safe_comment = _COMMENT_UNSAFE.sub("_", " ".join(comment))[:80]
    return " ".join(part for part in (key_type, blob, safe_comment) if part)


def _public_key_problem(text: str) -> str | None:
    if not text:
        return "Paste a public key, e.g. the contents of ~/.ssh/id_ed25519.pub."
    if "PRIVATE KEY" in text:
        return "That is a private key. Paste the public one (the .pub file) and keep the private key secret."
    if len(text) > PUBLIC_KEY_MAX or "\n" in text or len(text.split()) < 2:
        return "Paste exactly one OpenSSH public key on one line: “ssh-ed25519 AAAA… you@laptop”."
    try:
        serialization.load_ssh_public_key(" ".join(text.split()[:2]).encode())
    except (ValueError, UnsupportedAlgorithm):
        return "This is not a valid OpenSSH public key (ssh-ed25519, ecdsa-sha2-* or ssh-rsa)."
    return None


def _name_clean(name) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise ApplicationError(f"Give the key a name of 1–{NAME_MAX} characters.",
                               fields={"name": [f"A name of 1–{NAME_MAX} printable characters is required."]})
    return name


# --- ComputeHub's own key pair ---------------------------------------------------------------


@sensitive_variables("private_text")
def workspace_key_generate(*, workspace: Workspace, user) -> WorkspaceKeyPair:
    """A new ed25519 pair for the workspace, replacing any previous one (rotation). Instances
    already running keep trusting the old public key; new launches get the new one."""
    private = ed25519.Ed25519PrivateKey.generate()
    private_text = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                         serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    public_text = f"{public.decode()} computehub-{workspace.slug}"
    with transaction.atomic():
        pair = WorkspaceKeyPair.objects.select_for_update().filter(workspace=workspace).first()
        pair = pair or WorkspaceKeyPair(workspace=workspace)
        pair.public_key, pair.fingerprint = public_text, openssh_fingerprint(public_text)
        pair.private_key = crypto.encrypt(private_text, aad=key_pair_aad(pair))
        pair.created_by, pair.created_at = user, timezone.now()
        pair.save()
    return pair


def workspace_private_key(pair: WorkspaceKeyPair) -> str:
    """The decrypted OpenSSH private key, for an SFTP connection only. crypto.DecryptionError is loud."""
    return crypto.decrypt(pair.private_key, aad=key_pair_aad(pair))


# --- Members' public keys --------------------------------------------------------------------


def member_key_add(*, workspace: Workspace, user, name: str, public_key: str) -> MemberSshKey:
    name, public_key = _name_clean(name), public_key_clean(public_key)
    fingerprint = openssh_fingerprint(public_key)
    existing = ssh_selectors.member_key_by_fingerprint(workspace=workspace, fingerprint=fingerprint)
    if existing is not None:
        _refuse_duplicate(existing.name)
    try:
        with transaction.atomic():
            return MemberSshKey.objects.create(workspace=workspace, user=user, name=name,
                                               public_key=public_key, fingerprint=fingerprint)
    except IntegrityError:  # the same key added concurrently
        _refuse_duplicate(name)


def _refuse_duplicate(existing_name: str):
    message = f"This key is already in the workspace (as “{existing_name}”)."
    raise ApplicationError(message, fields={"public_key": [message]})


def member_key_removable(*, key: MemberSshKey, membership) -> bool:
    """Admins remove any key; Developers their own; Viewers none."""
    if membership.allows(Role.ADMIN):
        return True
    return membership.allows(Role.DEVELOPER) and key.user_id == membership.user_id


def member_key_delete(*, key: MemberSshKey, membership) -> None:
    """New launches stop installing it; instances already running keep it until they are replaced."""
    if not member_key_removable(key=key, membership=membership):
        raise ApplicationError("Only an Admin can remove another member's SSH key.", code="permission_denied",
                               status=403)
    key.delete()


def workspace_authorized_keys(*, workspace: Workspace) -> tuple[str, ...]:
    """Every public key a new instance of the workspace must accept: ComputeHub's own first (the
    one SFTP uses, and the one a single-key provider gets), then members', then the operator's."""
    pair = ssh_selectors.workspace_key_pair(workspace=workspace)
    members = ssh_selectors.member_ssh_keys(workspace=workspace).values_list("public_key", flat=True)
    operator = (settings.COMPUTEHUB_SSH_PUBLIC_KEY or "").strip()
    keys = [pair.public_key if pair else "", *members, operator]
    return tuple(dict.fromkeys(key for key in keys if key))


# --- Host keys (trust on first use) ----------------------------------------------------------


def known_host_record(*, workspace_id, deployment_id, host: str, port: int, host_key: str) -> SshKnownHost:
    """Remembers the first key seen at this address; a concurrent first use keeps the first row."""
    defaults = {"workspace_id": workspace_id, "host_key": host_key, "fingerprint": openssh_fingerprint(host_key)}
    known, _ = SshKnownHost.objects.get_or_create(deployment_id=deployment_id, host=host, port=port, defaults=defaults)
    return known
