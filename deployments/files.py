"""The file browser: the working directory of a Local deployment, read-only.

Every path a user sends is relative to the deployment's root and is resolved (symlinks followed)
before use; a result outside the root is refused, so `../`, absolute paths and symlinks that
point out of the folder never reach a file. Remote providers need SFTP with an SSH key, which
does not exist yet: the browser says so instead of failing.
"""

import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from providers.models import ProviderKind
from providers.services import ProviderDisabled, credential_adapter

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024  # a browser download, not a backup tool
MAX_ENTRIES = 500  # a folder with more is cut, and says so
REMOTE_REASON = "Browsing files on a remote provider needs SFTP with an SSH key configured; not available yet."


class Unavailable(Exception):
    """The deployment has no browsable folder; the message says why, for the page."""


class OutsideRoot(Exception):
    """The requested path is not inside the deployment's folder (traversal, absolute, symlink out)."""


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Entry:
    name: str
    path: str  # relative to the root, with "/" separators
    is_dir: bool
    size: int
    modified: datetime


def browser_root(deployment) -> Path:
    """The deployment's working directory, or Unavailable with the reason."""
    if deployment.provider != ProviderKind.LOCAL:
        raise Unavailable(REMOTE_REASON)
    if not deployment.instance_id:
        raise Unavailable("The deployment has not been created yet; its files appear once it starts.")
    try:
        root = credential_adapter(deployment.credential).work_dir(deployment.instance_id)
    except ProviderDisabled as exc:
        raise Unavailable(str(exc)) from None
    if not root.is_dir():
        raise Unavailable("The deployment's folder is gone (it was deleted).")
    return root.resolve()


def resolve_inside(root: Path, relative: str) -> Path:
    """`relative` under `root`, symlinks resolved; OutsideRoot unless the result stays inside."""
    pure = PurePosixPath(relative or ".")
    if pure.is_absolute() or "\\" in relative or "\x00" in relative:
        raise OutsideRoot(relative)
    candidate = (root / pure).resolve()
    if candidate != root and not candidate.is_relative_to(root):
        raise OutsideRoot(relative)
    return candidate


def list_folder(root: Path, relative: str) -> tuple[list[Entry], bool]:
    """The folder's entries (folders first, then by name) and whether the list was cut. Symlinks
    that lead outside the root are left out rather than shown as something one cannot open."""
    folder = resolve_inside(root, relative)
    if not folder.is_dir():
        raise FileNotFoundError(relative)
    entries = [entry for entry in map(lambda p: _entry(root, p), sorted(folder.iterdir())) if entry]
    entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
    return entries[:MAX_ENTRIES], len(entries) > MAX_ENTRIES


def _entry(root: Path, path: Path) -> Entry | None:
    try:
        target = resolve_inside(root, str(path.relative_to(root)))
        info = target.stat()
    except (OutsideRoot, OSError):
        return None
    relative = path.relative_to(root).as_posix()
    modified = datetime.fromtimestamp(info.st_mtime, tz=timezone.utc)
    return Entry(path.name, relative, stat.S_ISDIR(info.st_mode), info.st_size, modified)


def open_file(root: Path, relative: str):
    """An open binary file inside the root and its size; FileNotFoundError, OutsideRoot, TooLarge."""
    path = resolve_inside(root, relative)
    # O_NOFOLLOW: a symlink swapped in after resolve() is refused rather than followed.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    handle = os.fdopen(fd, "rb")
    size = os.fstat(fd).st_size
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise FileNotFoundError(relative)
    if size > MAX_DOWNLOAD_BYTES:
        handle.close()
        raise TooLarge(relative)
    return handle, size


def breadcrumbs(relative: str) -> list[tuple[str, str]]:
    """[(name, path)] for each folder from the root down to `relative`."""
    parts = [part for part in PurePosixPath(relative or ".").parts if part not in (".", "")]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]
