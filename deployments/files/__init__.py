"""The file browser: a deployment's working directory, read-only. Local deployments are read
from this machine (local.py); remote ones over SFTP with the workspace's SSH key (sftp.py).

`unavailable_reason` answers "can this deployment be browsed?" without connecting anywhere (the
detail page asks on every render); `folder_for` returns the folder to list and download from.
"""

from django.urls import reverse

from accounts import ssh_keys_selectors
from deployments.files import common
from deployments.files.common import (MAX_DOWNLOAD_BYTES, MAX_ENTRIES, Entry, OutsideRoot, RemoteError, TooLarge,
                                      Unavailable, breadcrumbs)
from deployments.files.local import LocalFolder, local_root, resolve_inside
from deployments.files.sftp import SftpFolder, target_for
from deployments.models import Status
from providers.adapters import adapter_class
from providers.models import ProviderKind

__all__ = ["MAX_DOWNLOAD_BYTES", "MAX_ENTRIES", "Entry", "OutsideRoot", "RemoteError", "TooLarge", "Unavailable",
           "breadcrumbs", "common", "folder_for", "resolve_inside", "unavailable_reason"]


def folder_for(deployment) -> LocalFolder | SftpFolder:
    """The deployment's browsable folder, or Unavailable with the reason (and where to fix it)."""
    if deployment.provider == ProviderKind.LOCAL:
        return LocalFolder(local_root(deployment))
    return SftpFolder(target_for(deployment, _remote_key_pair(deployment)))


def unavailable_reason(deployment) -> Unavailable | None:
    try:
        if deployment.provider == ProviderKind.LOCAL:
            local_root(deployment)
        else:
            _remote_key_pair(deployment)
    except Unavailable as exc:
        return exc
    return None


def _remote_key_pair(deployment):
    """The workspace key pair, once the deployment is reachable over SSH at all."""
    capabilities = adapter_class(deployment.provider).capabilities
    if not capabilities.ssh:
        raise Unavailable(f"No file browser: {capabilities.reason('ssh_info')}.")
    if deployment.status != Status.RUNNING:
        raise Unavailable("Files can be browsed over SFTP while the deployment is running.")
    if not deployment.ssh_host:
        raise Unavailable("The provider has not given an SSH address for this deployment yet.")
    pair = ssh_keys_selectors.workspace_key_pair(workspace=deployment.workspace)
    if pair is None:
        raise Unavailable("Browsing files on a remote deployment needs the workspace's SSH key, installed when it "
                          "launches. An Admin can generate it; deployments launched afterwards can be browsed.",
                          link=(reverse("ssh_keys"), "Workspace SSH keys"))
    return pair
