"""Tailing a Local deployment's output file by byte offset (DESIGN.md §3.6).

The offset lives in Deployment.log_cursor and is written by the same UPDATE that stores the lines
(deployments.logs.log_append), so a restarted collector continues exactly where the stored lines
end. It is also kept in memory between steps, so the usual step (nothing new) costs one stat.
"""

from dataclasses import dataclass, field
from pathlib import Path

from deployments.logs import MAX_LINE_CHARS, last_log_seq, log_append
from deployments.models import Deployment
from providers.services import credential_adapter

MAX_READ_BYTES = 1 << 20  # per tail step: a flood is taken in pieces, the loop stays responsive
CUT_MARKER = " … [line cut: longer than 1 MiB]"


def _line_text(raw: str) -> str:
    """`<ISO time>\\t<text>` as the Local wrapper writes it → text (other lines as they are)."""
    stamp, tab, text = raw.partition("\t")
    return text if tab and stamp[:4].isdigit() else raw


def _cut_line(data: bytes) -> str:
    """The head of a line too long to wait for, marked so nobody mistakes it for the whole line."""
    text = _line_text(data.decode("utf-8", errors="replace"))
    return text[:MAX_LINE_CHARS - len(CUT_MARKER)] + CUT_MARKER


def split_read(data: bytes, in_cut: bool) -> tuple[list[str], int, bool]:
    """The complete lines in `data` → (lines, bytes consumed, still inside a cut line).

    A line still being written waits for its newline, unless a whole read holds no newline: then
    waiting could never end (the next read starts at the same offset), so its head is stored as
    a cut line and the rest of it, up to its newline, is skipped."""
    end = data.rfind(b"\n")
    if end < 0:
        if len(data) < MAX_READ_BYTES:
            return [], 0, in_cut
        return ([] if in_cut else [_cut_line(data)]), len(data), True
    raws = data[:end].split(b"\n")
    if in_cut:  # the first piece is the tail of the line already stored cut
        raws = raws[1:]
    lines = [_line_text(raw.decode("utf-8", errors="replace")) for raw in raws]
    return lines, end + 1, False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read(MAX_READ_BYTES)
    except FileNotFoundError:
        return b""


def _offset_after_lines(path: Path, count: int) -> int:
    """With no saved cursor (a deployment from before cursors were stored), skip the lines
    already stored: each file line became one stored line."""
    if count <= 0:
        return 0
    offset = 0
    try:
        with open(path, "rb") as log:
            for _, line in zip(range(count), log, strict=False):
                offset += len(line)
    except FileNotFoundError:  # not written yet: nothing to skip
        return 0
    return offset


@dataclass
class LocalTail:
    """Positions ({"offset", "cut"}) in Local deployments' output files, kept in memory between
    steps and in the database with the lines."""

    positions: dict = field(default_factory=dict)
    seqs: dict = field(default_factory=dict)  # the log_seq each position goes with (compare-and-swap)
    paths: dict = field(default_factory=dict)

    def step(self, deployment) -> int:
        """Store the complete lines written since the last step; returns how many."""
        path = self._path(deployment)
        position = self._position(deployment, path)
        if _size(path) <= position["offset"]:  # the usual case: nothing written since the last step
            return 0
        lines, consumed, in_cut = split_read(_read(path, position["offset"]), position.get("cut", False))
        if not consumed:
            return 0
        cursor = {"offset": position["offset"] + consumed, "cut": in_cut}
        stored = log_append(deployment=deployment, lines=lines, cursor=cursor, expected_seq=self.seqs[deployment.pk])
        if stored is None:  # another reader (the job watcher) stored lines meanwhile: re-read the row next time
            self.positions.pop(deployment.pk, None)
            return 0
        self.positions[deployment.pk], self.seqs[deployment.pk] = cursor, stored[0] + len(stored[1]) - 1
        return len(stored[1])

    def _path(self, deployment) -> Path:
        if deployment.pk not in self.paths:  # building the adapter decrypts the key: once
            self.paths[deployment.pk] = credential_adapter(deployment.credential).log_path(deployment.instance_id)
        return self.paths[deployment.pk]

    def _position(self, deployment, path: Path) -> dict:
        position = self.positions.get(deployment.pk)
        if position is None:  # first sight since (re)start: the stored cursor, fresh from the row
            saved, self.seqs[deployment.pk] = Deployment.objects.filter(pk=deployment.pk).values_list(
                "log_cursor", "log_seq").first() or ({}, 0)
            position = saved if "offset" in (saved or {}) else {
                "offset": _offset_after_lines(path, last_log_seq(deployment.pk)), "cut": False}
        if _size(path) < position["offset"]:  # the file was replaced or truncated: start it over
            position = {"offset": 0, "cut": False}
        self.positions[deployment.pk] = position
        return position

    def forget(self, keep_ids) -> None:
        for deployment_id in set(self.positions) - set(keep_ids):
            self.positions.pop(deployment_id, None)
            self.seqs.pop(deployment_id, None)
            self.paths.pop(deployment_id, None)
