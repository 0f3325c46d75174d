"""The working directory of a remote deployment, read-only, over SFTP with the workspace's key.

Same rules as the local browser: paths are relative to the root, `..` is resolved by the server
(SFTP realpath) and the result re-checked against the root, so traversal and symlinks that lead
out are refused. The root is the provider's working directory (e.g. /workspace) when it exists,
else the SSH user's home.

Host keys are trusted on first use: the first key an instance presents is recorded for the
deployment (accounts.SshKnownHost), and a different one later is refused with a clear message.
Every failure becomes a RemoteError with a message for the page; nothing here logs or returns
the private key. Each request opens one short connection (short timeouts; views are sync).
"""

import asyncio
import posixpath
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from tempfile import SpooledTemporaryFile

import asyncssh
from asgiref.sync import async_to_sync
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from accounts import ssh_keys_selectors, ssh_keys_service
from computehub import crypto
from deployments.files import common
from deployments.files.common import Entry, OutsideRoot, RemoteError, TooLarge, clean_relative

# Where providers' images keep work; elsewhere the SSH user's home is the root.
PROVIDER_WORK_DIRS = {"runpod": "/workspace", "vast": "/workspace"}
LIST_TIMEOUT_S = 30.0
DOWNLOAD_TIMEOUT_S = 300.0
CHUNK_BYTES = 256 * 1024
SPOOL_BYTES = 1024 * 1024  # downloads bigger than this wait on disk, not in memory
KEY_REFUSED = ("SSH refused our key: was the deployment launched before the workspace key existed "
               "(or before it was rotated)? Relaunch it to install the current key.")


@dataclass(frozen=True)
class Target:
    deployment_id: object
    workspace_id: object
    host: str
    port: int
    user: str
    work_dir: str | None
    private_key: str = field(repr=False)
    known_host_key: str | None = None


def target_for(deployment, pair) -> Target:
    """Everything a connection needs, read from the database before going async."""
    try:
        private_key = ssh_keys_service.workspace_private_key(pair)
    except crypto.DecryptionError:
        raise RemoteError("The workspace SSH key cannot be decrypted here "
                          "(is a key missing from COMPUTEHUB_ENCRYPTION_KEYS?).") from None
    port = deployment.ssh_port or 22
    known = ssh_keys_selectors.known_host(deployment_id=deployment.pk, host=deployment.ssh_host, port=port)
    return Target(deployment_id=deployment.pk, workspace_id=deployment.workspace_id, host=deployment.ssh_host,
                  port=port, user=deployment.ssh_user or "root", work_dir=PROVIDER_WORK_DIRS.get(deployment.provider),
                  private_key=private_key, known_host_key=known.host_key if known else None)


class SftpFolder:
    def __init__(self, target: Target):
        self.target = target

    def list_folder(self, relative: str) -> tuple[list[Entry], bool]:
        return self._run(lambda sftp, root: _list(sftp, root, relative), LIST_TIMEOUT_S)

    def open_file(self, relative: str):
        """A spooled copy of the file (rewound) and its size; FileNotFoundError, OutsideRoot, TooLarge."""
        return self._run(lambda sftp, root: _download(sftp, root, relative), DOWNLOAD_TIMEOUT_S)

    def _run(self, operation, timeout_s: float):
        result, host_key = async_to_sync(self._session)(operation, timeout_s)
        if self.target.known_host_key is None:  # first use: remember who answered
            target = self.target
            ssh_keys_service.known_host_record(workspace_id=target.workspace_id, deployment_id=target.deployment_id,
                                               host=target.host, port=target.port, host_key=host_key)
        return result

    async def _session(self, operation, timeout_s: float):
        try:
            async with asyncio.timeout(timeout_s):
                async with await self._connect() as connection:
                    host_key = connection.get_server_host_key().export_public_key().decode().strip()
                    async with connection.start_sftp_client() as sftp:
                        root = await _root(sftp, self.target.work_dir)
                        return await operation(sftp, root), host_key
        except (OutsideRoot, TooLarge, FileNotFoundError, RemoteError):
            raise
        except Exception as exc:  # noqa: BLE001 - every SSH failure must become a message, never a 500
            raise RemoteError(self._explain(exc)) from None

    @sensitive_variables("key")
    async def _connect(self):
        target = self.target
        key = asyncssh.import_private_key(target.private_key)
        known_hosts = ([asyncssh.import_public_key(target.known_host_key)], [], []) if target.known_host_key else None
        timeout = settings.COMPUTEHUB_SSH_TIMEOUT_S
        return await asyncssh.connect(target.host, target.port, username=target.user, client_keys=[key],
                                      known_hosts=known_hosts, agent_path=None, config=None, password=None,
                                      kbdint_auth=False, connect_timeout=timeout, login_timeout=timeout)

    def _explain(self, exc: Exception) -> str:
        where = f"{self.target.host}:{self.target.port}"
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            fingerprint = ssh_keys_service.openssh_fingerprint(self.target.known_host_key or "x AAAA")
            return (f"The SSH host key at {where} changed since ComputeHub first connected (it was {fingerprint}). "
                    "The instance may have been rebuilt, or someone may be intercepting the connection: refusing.")
        if isinstance(exc, asyncssh.PermissionDenied):
            return KEY_REFUSED
        if isinstance(exc, TimeoutError):
            return f"The instance did not answer SSH at {where} in time; try again in a moment."
        if isinstance(exc, OSError):
            return f"Could not connect to {where} over SSH ({exc.strerror or type(exc).__name__})."
        if isinstance(exc, asyncssh.Error):
            return f"The SSH connection to {where} failed: {exc.reason}"
        return f"The SSH connection to {where} failed ({type(exc).__name__})."


# --- remote operations (inside one SFTP session) ----------------------------------------------


async def _root(sftp, work_dir: str | None) -> str:
    if work_dir:
        try:
            resolved = await sftp.realpath(work_dir)
            if await sftp.isdir(resolved):
                return resolved
        except asyncssh.SFTPError:
            pass
    return await sftp.realpath(".")


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


async def _resolve(sftp, root: str, relative: str) -> str:
    """The server's canonical path for `relative` under `root`; OutsideRoot unless it stays inside."""
    joined = posixpath.join(root, str(clean_relative(relative)))  # the server resolves ".." and links
    try:
        resolved = await sftp.realpath(joined)
    except asyncssh.SFTPError:
        raise FileNotFoundError(relative) from None
    if not _inside(root, resolved):
        raise OutsideRoot(relative)
    return resolved


async def _list(sftp, root: str, relative: str) -> tuple[list[Entry], bool]:
    folder = await _resolve(sftp, root, relative)
    try:
        names = [name for name in await sftp.readdir(folder) if name.filename not in (".", "..")]
    except asyncssh.SFTPError:  # missing, not a folder, or not readable
        raise FileNotFoundError(relative) from None
    entries = [await _entry(sftp, root, folder, name) for name in names[: common.MAX_ENTRIES * 2]]
    listed, cut = common.sorted_and_cut([entry for entry in entries if entry])
    return listed, cut or len(names) > common.MAX_ENTRIES * 2


async def _entry(sftp, root: str, folder: str, name) -> Entry | None:
    """One entry; a symlink is followed and left out if it leads outside the root or nowhere."""
    path, attrs = posixpath.join(folder, name.filename), name.attrs
    if attrs.permissions is not None and stat.S_ISLNK(attrs.permissions):
        try:
            target = await sftp.realpath(path)
            attrs = await sftp.stat(target) if _inside(root, target) else None
        except asyncssh.SFTPError:
            attrs = None
        if attrs is None:
            return None
    is_dir = attrs.permissions is not None and stat.S_ISDIR(attrs.permissions)
    modified = datetime.fromtimestamp(attrs.mtime or 0, tz=timezone.utc)
    return Entry(name.filename, posixpath.relpath(path, root), is_dir, attrs.size or 0, modified)


async def _download(sftp, root: str, relative: str):
    path = await _resolve(sftp, root, relative)
    try:
        attrs = await sftp.stat(path)
    except asyncssh.SFTPError:
        raise FileNotFoundError(relative) from None
    if attrs.permissions is None or not stat.S_ISREG(attrs.permissions):
        raise FileNotFoundError(relative)
    if (attrs.size or 0) > common.MAX_DOWNLOAD_BYTES:
        raise TooLarge(relative)
    spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        size = await _copy(sftp, path, spool, relative)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


async def _copy(sftp, path: str, spool, relative: str) -> int:
    """Copies at most MAX_DOWNLOAD_BYTES (a file that grew after stat is refused, not truncated)."""
    size = 0
    async with sftp.open(path, "rb") as remote:
        while chunk := await remote.read(CHUNK_BYTES):
            size += len(chunk)
            if size > common.MAX_DOWNLOAD_BYTES:
                raise TooLarge(relative)
            spool.write(chunk)
    return size
