"""The working directory of a Local deployment, read-only.

Every path a user sends is relative to the deployment's root and is resolved (symlinks followed)
before use; a result outside the root is refused, so `../`, absolute paths and symlinks that
point out of the folder never reach a file.
"""

import os
import stat
from datetime import datetime, timezone
from pathlib import Path

from deployments.files import common
from deployments.files.common import Entry, OutsideRoot, TooLarge, Unavailable, clean_relative
from providers.services import ProviderDisabled, credential_adapter


def local_root(deployment) -> Path:
    """The deployment's working directory, or Unavailable with the reason."""
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
    candidate = (root / clean_relative(relative)).resolve()
    if candidate != root and not candidate.is_relative_to(root):
        raise OutsideRoot(relative)
    return candidate


class LocalFolder:
    def __init__(self, root: Path):
        self.root = root

    def list_folder(self, relative: str) -> tuple[list[Entry], bool]:
        """The folder's entries and whether the list was cut. Symlinks that lead outside the root
        are left out rather than shown as something one cannot open."""
        folder = resolve_inside(self.root, relative)
        if not folder.is_dir():
            raise FileNotFoundError(relative)
        return common.sorted_and_cut([entry for entry in map(self._entry, sorted(folder.iterdir())) if entry])

    def _entry(self, path: Path) -> Entry | None:
        try:
            info = resolve_inside(self.root, str(path.relative_to(self.root))).stat()
        except (OutsideRoot, OSError):
            return None
        modified = datetime.fromtimestamp(info.st_mtime, tz=timezone.utc)
        return Entry(path.name, path.relative_to(self.root).as_posix(), stat.S_ISDIR(info.st_mode), info.st_size, modified)

    def open_file(self, relative: str):
        """An open binary file inside the root and its size; FileNotFoundError, OutsideRoot, TooLarge."""
        path = resolve_inside(self.root, relative)
        # O_NOFOLLOW: a symlink swapped in after resolve() is refused rather than followed.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        handle = os.fdopen(fd, "rb")
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            handle.close()
            raise FileNotFoundError(relative)
        if info.st_size > common.MAX_DOWNLOAD_BYTES:
            handle.close()
            raise TooLarge(relative)
        return handle, info.st_size
