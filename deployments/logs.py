"""A deployment's log lines: appended with increasing sequence numbers, kept for the last
KEEP_LINES lines, read back by sequence (DESIGN.md §3.6–§3.7).

Sequence numbers come from Deployment.log_seq, bumped by a conditional UPDATE inside the append's
transaction. The UPDATE locks the deployment row until commit, so two writers never get the same
range and their rows commit in sequence order: once line n is visible, every line below n is
either visible or rolled back for good. Viewers rely on that to fill gaps from the database.
"""

from django.db import transaction
from django.db.models import F

from deployments import realtime
from deployments.models import Deployment, LogChunk

KEEP_LINES = 10_000  # retention per deployment
MAX_CHUNK_LINES = 1_000  # bounds a row's size, and lets reads find chunks by an index range
MAX_LINE_CHARS = 8_000  # a runaway line (a progress bar without newlines) must not bloat a chunk


def normalize_lines(lines) -> list[str]:
    """One entry per line: embedded newlines split, trailing CRs and over-long tails cut."""
    out = []
    for line in lines:
        out.extend(part.rstrip("\r")[:MAX_LINE_CHARS] for part in str(line).split("\n"))
    return out


class Moved(Exception):
    """Another collector stored lines after `expected_seq` was read: this read is stale."""


def _allocate(deployment_id, count: int, cursor: dict | None = None, expected_seq: int | None = None) -> int:
    """Reserve `count` sequence numbers (and record the collector's cursor in the same UPDATE);
    returns the first. With `expected_seq`, only if nobody appended since it was read (Moved).
    Must run inside a transaction."""
    extra = {} if cursor is None else {"log_cursor": cursor}
    rows = Deployment.objects.filter(pk=deployment_id)
    if expected_seq is not None:
        rows = rows.filter(log_seq=expected_seq)
    if not rows.update(log_seq=F("log_seq") + count, **extra):
        raise Moved
    last = Deployment.objects.filter(pk=deployment_id).values_list("log_seq", flat=True).get()
    return last - count + 1


def _prune(deployment_id, last_seq: int) -> None:
    """Drop chunks whose every line is older than the last KEEP_LINES (one indexed range delete)."""
    cutoff = last_seq - KEEP_LINES  # lines with seq <= cutoff may go
    # No signals or dependents on LogChunk, so Django issues a single DELETE.
    LogChunk.objects.filter(
        deployment_id=deployment_id, first_seq__lte=cutoff, line_count__lte=cutoff - F("first_seq") + 1
    ).delete()


def log_append(*, deployment, lines, cursor: dict | None = None,
               expected_seq: int | None = None) -> tuple[int, list[str]] | None:
    """Store `lines` after the deployment's last line and publish them once committed.
    `cursor` (a collector's position in its source) is saved in the same transaction, so the
    lines and the position move together: exactly once across crashes and restarts.
    `expected_seq` (the log_seq read with that cursor) makes it a compare-and-swap: when two
    collectors read the same lines, the second stores nothing (None) and reads again later.
    Returns (first_seq, lines as stored), or None when there was nothing to store."""
    lines = normalize_lines(lines)
    if not lines:
        if cursor is not None:  # lines were read but all skipped: still move past them
            rows = Deployment.objects.filter(pk=deployment.pk)
            (rows if expected_seq is None else rows.filter(log_seq=expected_seq)).update(log_cursor=cursor)
        return None
    try:
        return _store(deployment, lines, cursor, expected_seq)
    except Moved:
        return None


def _store(deployment, lines: list[str], cursor, expected_seq) -> tuple[int, list[str]]:
    with transaction.atomic():
        first_seq = _allocate(deployment.pk, len(lines), cursor, expected_seq)
        LogChunk.objects.bulk_create(_chunks(deployment.pk, first_seq, lines))
        _prune(deployment.pk, first_seq + len(lines) - 1)
        transaction.on_commit(lambda: realtime.publish_log_lines(deployment, first_seq, lines))
    return first_seq, lines


def _chunks(deployment_id, first_seq: int, lines: list[str]) -> list[LogChunk]:
    return [
        LogChunk(deployment_id=deployment_id, first_seq=first_seq + start, line_count=len(part), text="\n".join(part))
        for start in range(0, len(lines), MAX_CHUNK_LINES)
        for part in [lines[start:start + MAX_CHUNK_LINES]]
    ]


def log_lines_after(*, deployment, after_seq: int, limit: int = KEEP_LINES) -> list[tuple[int, str]]:
    """Exactly the stored lines with seq > after_seq, in order, at most `limit` of them."""
    # A chunk holding seq > after_seq starts after after_seq - MAX_CHUNK_LINES: an index range.
    chunks = LogChunk.objects.filter(deployment=deployment, first_seq__gt=after_seq - MAX_CHUNK_LINES)
    out: list[tuple[int, str]] = []
    for first_seq, text in chunks.order_by("first_seq").values_list("first_seq", "text").iterator(chunk_size=20):
        for offset, line in enumerate(text.split("\n")):
            if first_seq + offset > after_seq:
                out.append((first_seq + offset, line))
                if len(out) >= limit:
                    return out
    return out


def last_log_seq(deployment_id) -> int:
    return Deployment.objects.filter(pk=deployment_id).values_list("log_seq", flat=True).first() or 0
