"""Reads of a workspace's SSH keys and known host keys, always scoped to the workspace."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import MemberSshKey, SshKnownHost, Workspace, WorkspaceKeyPair


def workspace_key_pair(*, workspace: Workspace) -> WorkspaceKeyPair | None:
    return WorkspaceKeyPair.objects.filter(workspace=workspace).first()


def member_ssh_keys(*, workspace: Workspace) -> QuerySet[MemberSshKey]:
    return MemberSshKey.objects.filter(workspace=workspace).select_related("user").order_by("created_at", "pk")


def member_ssh_key_get(*, workspace: Workspace, key_id) -> MemberSshKey:
    """One key of this workspace; another workspace's key is a 404, never a hint it exists."""
    key = member_ssh_keys(workspace=workspace).filter(pk=key_id).first()
    if key is None:
        raise Http404("No such SSH key.")
    return key


def member_key_by_fingerprint(*, workspace: Workspace, fingerprint: str) -> MemberSshKey | None:
    return MemberSshKey.objects.filter(workspace=workspace, fingerprint=fingerprint).first()


def known_host(*, deployment_id, host: str, port: int) -> SshKnownHost | None:
    return SshKnownHost.objects.filter(deployment_id=deployment_id, host=host, port=port).first()
