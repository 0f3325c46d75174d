"""What the local and the SFTP file browsers share: limits, refusals, entries, path hygiene."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024  # a browser download, not a backup tool
MAX_ENTRIES = 500  # a folder with more is cut, and says so


class Unavailable(Exception):
    """The deployment has no browsable folder; the message says why, for the page, and `link`
    (url, label) says where to fix it, if anywhere."""

    def __init__(self, message: str, link: tuple[str, str] | None = None):
        super().__init__(message)
        self.link = link


class RemoteError(Exception):
    """The instance could not be reached or refused us over SSH; the message is for the page."""


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


def clean_relative(relative: str) -> PurePosixPath:
    """`relative` as a path under the root; OutsideRoot for absolute paths, backslashes and NULs.
    `..` is left for the caller to resolve and re-check against the root."""
    relative = relative or "."
    pure = PurePosixPath(relative)
    if pure.is_absolute() or "\\" in relative or "\x00" in relative:
        raise OutsideRoot(relative)
    return pure


def sorted_and_cut(entries: list[Entry]) -> tuple[list[Entry], bool]:
    """Folders first, then by name; at most MAX_ENTRIES, and whether some were cut."""
    entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
    return entries[:MAX_ENTRIES], len(entries) > MAX_ENTRIES


def breadcrumbs(relative: str) -> list[tuple[str, str]]:
    """[(name, path)] for each folder from the root down to `relative`."""
    parts = [part for part in PurePosixPath(relative or ".").parts if part not in (".", "")]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]
