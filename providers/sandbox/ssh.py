"""Real SSH/SFTP for sandbox instances, on loopback, so the remote file browser runs end to end.

Each sandbox instance that gives an SSH address with a port (RunPod `runtime.ports`, Vast
`ssh_host:ssh_port`, TensorDock `portForwards`) gets its own asyncssh server on 127.0.0.1 and a
free port: SFTP only (no shell), chrooted to a temporary folder seeded with a few files, with
its own ed25519 host key, accepting only the public keys the instance was launched with. The
keys are read from the provider's own fields (an env value, an onstart or startup script,
cloud-init), the way the image's boot script would install them. Lambda and Paperspace give
`ip:22`, which a test cannot bind, so for them the keys are only recorded.

All servers share one event loop in a daemon thread; the sandbox's HTTP handlers are sync.
"""

import asyncio
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
_PUBLIC_KEY = re.compile(r"(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/]+={0,3}")
SEED_FILES = {
    "workspace/README.md": "# Sandbox instance\n\nFiles here are served over SFTP by the sandbox cloud.\n",
    "workspace/outputs/result.json": '{"epochs": 3, "loss": 0.042}\n',
}
SEED_LINKS = {"workspace/escape": ".."}  # a symlink leading out of the working directory


def keys_in(*texts) -> tuple[str, ...]:
    """The OpenSSH public keys ("type base64", comments dropped) found in `texts`, each once."""
    found = (match.group(0) for text in texts if text for match in _PUBLIC_KEY.finditer(str(text)))
    return tuple(dict.fromkeys(found))


@dataclass
class Box:
    """One instance's SSH server: its files, accepted keys and host key."""

    root: Path
    authorized: tuple[str, ...]
    host_key: asyncssh.SSHKey = field(default_factory=lambda: asyncssh.generate_private_key("ssh-ed25519"))
    port: int = 0
    acceptor: asyncssh.SSHAcceptor | None = None

    def accepts(self, key: asyncssh.SSHKey) -> bool:
        return key.public_data in {_public_data(line) for line in self.authorized}


def _public_data(line: str) -> bytes | None:
    try:
        return asyncssh.import_public_key(line).public_data
    except (asyncssh.KeyImportError, ValueError):  # a malformed key in a script installs nothing
        return None


class _Gate(asyncssh.SSHServer):
    """Public-key authentication against the box's keys; any user name (root, ubuntu, ...)."""

    def __init__(self, box: Box):
        self.box = box

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return self.box.accepts(key)


class SandboxSsh:
    """The process's sandbox SSH servers, by name ("<cloud>:<instance id>")."""

    def __init__(self):
        self.boxes: dict[str, Box] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self, name: str, keys: tuple[str, ...]) -> int:
        """Start a server for `name` accepting `keys`; returns its port."""
        self.close(name)
        box = Box(root=_seeded_folder(), authorized=keys)
        self._run(self._listen(box))
        with self._lock:
            self.boxes[name] = box
        return box.port

    def close(self, name: str) -> None:
        with self._lock:
            box = self.boxes.pop(name, None)
        if box is not None:
            self._run(self._stop(box))
            shutil.rmtree(box.root, ignore_errors=True)

    def rotate_host_key(self, name: str) -> None:
        """What a reinstalled (or impersonated) machine looks like: same address, new host key."""
        box = self.boxes[name]
        self._run(self._stop(box))
        box.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._run(self._listen(box))

    async def _listen(self, box: Box) -> None:
        box.acceptor = await asyncssh.create_server(
            lambda: _Gate(box), HOST, box.port, server_host_keys=[box.host_key], reuse_address=True,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(box.root)), allow_scp=False)
        box.port = box.acceptor.sockets[0].getsockname()[1]

    @staticmethod
    async def _stop(box: Box) -> None:
        if box.acceptor is not None:
            box.acceptor.close()
            await box.acceptor.wait_closed()
            box.acceptor = None

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._event_loop()).result(START_TIMEOUT_S)

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="sandbox-ssh", daemon=True).start()
            return self._loop


def _seeded_folder() -> Path:
    root = Path(tempfile.mkdtemp(prefix="sandbox-ssh-"))
    for relative, text in SEED_FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    for relative, target in SEED_LINKS.items():
        (root / relative).symlink_to(target)
    return root


servers = SandboxSsh()


# --- what the sandbox clouds call -------------------------------------------------------------


def _name(cloud, instance) -> str:
    return f"{cloud.name}:{instance.id}"


def record(instance, *key_texts) -> tuple[str, ...]:
    """Remember the public keys the provider's fields would install (env value, script, cloud-init)."""
    instance.extra["authorized_keys"] = keys_in(*key_texts)
    return instance.extra["authorized_keys"]


def open_for(cloud, instance, *key_texts) -> int:
    """A real SFTP server on loopback for the instance, accepting those keys; returns its port.
    The instance starts booting once its server is up, so a slow start (a busy test machine)
    never skips the provider's early statuses."""
    port = servers.open(_name(cloud, instance), record(instance, *key_texts))
    instance.created_at = max(instance.created_at, cloud.now())
    return port


def close_for(cloud, instance) -> None:
    servers.close(_name(cloud, instance))


def authorized_keys(cloud, instance_id) -> tuple[str, ...]:
    """What a test asks: which keys did this launch install?"""
    return cloud.instances[str(instance_id)].extra.get("authorized_keys", ())


def rotate_host_key(cloud, instance_id) -> None:
    servers.rotate_host_key(_name(cloud, cloud.instances[str(instance_id)]))
