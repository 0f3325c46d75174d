"""Collectors (DESIGN.md §3.6): pull logs and metrics from each deployment's provider into
LogChunk / MetricSample rows, which deployments.logs / deployments.metrics publish once committed.

Remote providers are asked through their adapter (logs every ~5 s, metrics every ~15 s, later
when the provider rate-limits). The Local provider's output file is tailed directly every ~50 ms
by byte offset (deployments.local_tail), so a line a process prints reaches a viewer quickly.

Where each deployment got to (a byte offset, or the last provider timestamp with the lines
already stored at it) is Deployment.log_cursor, saved in the transaction that stores the lines:
a restarted collector continues exactly where the stored lines end, neither dropping nor
repeating any. A provider without timestamps answers the last N lines of the log each time: the
cursor keeps the last stored lines, found again in the next answer.
"""

import asyncio
import hashlib
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asgiref.sync import async_to_sync
from django.db import close_old_connections, connection
from django.utils import timezone

from deployments.local_tail import LocalTail
from deployments.logs import log_append
from deployments.metrics import metric_record, values_from_points
from deployments.models import Deployment, Status
from providers.adapters.base import ProviderErrorBase, RateLimited
from providers.adapters.registry import adapter_class
from providers.services import ProviderDisabled, credential_adapter

logger = logging.getLogger(__name__)

LOCAL = "local"
TAIL_INTERVAL_S = 0.02  # a stat per Local deployment per step: cheap, and the wait a new line sees
REMOTE_LOGS_INTERVAL_S = 5.0
METRICS_INTERVAL_S = {"local": 5.0}  # others: REMOTE_METRICS_INTERVAL_S
REMOTE_METRICS_INTERVAL_S = 15.0
REFRESH_LIST_S = 1.0  # how often the loops look for deployments that started or stopped
REMOTE_WORKERS = 8  # remote deployments collected at once
ADAPTER_TIMEOUT_S = 20.0  # one hung provider call must not hold up every other deployment
LIVE_STATUSES = (Status.PROVISIONING, Status.STARTING, Status.RUNNING, Status.STOPPING)
FINAL_LINES_GRACE = timedelta(minutes=2)  # keep reading a little after a process ended
TAIL_CONTEXT_LINES = 50  # last stored lines remembered to find where they end in a log tail


def capable(deployment, action: str) -> bool:
    return adapter_class(deployment.provider).capabilities.supports(action)


def _call_adapter(deployment, method: str, *args, **kwargs):
    """Run one async adapter call from sync code, bounded by ADAPTER_TIMEOUT_S (TimeoutError),
    closing the adapter's HTTP client after."""
    async def call():
        adapter = credential_adapter(deployment.credential)
        try:
            return await asyncio.wait_for(getattr(adapter, method)(*args, **kwargs), ADAPTER_TIMEOUT_S)
        finally:
            await adapter.aclose()
    return async_to_sync(call)()


_local_tail = LocalTail()


# --- Remote: ask the adapter -------------------------------------------------------------------


def _line_hash(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _stored_cursor(deployment) -> tuple[dict, int]:
    """The cursor and the log_seq it goes with, fresh from the row (the runner's Deployment object
    may predate the last append); the seq makes the append a compare-and-swap."""
    cursor, seq = Deployment.objects.filter(pk=deployment.pk).values_list("log_cursor", "log_seq").first() or ({}, 0)
    return cursor or {}, seq


def _remote_since(cursor: dict) -> datetime | None:
    return datetime.fromisoformat(cursor["since"]) if cursor.get("since") else None


def _timestamped_new_lines(lines, cursor: dict) -> tuple[list[str], dict]:
    """Lines at or after the cursor's timestamp, less those already stored at exactly that
    timestamp (several lines can share one; a strict `>` would drop the later ones), and the
    cursor after them. Already-stored lines are counted, so a repeated identical line is kept."""
    since = _remote_since(cursor)
    seen = Counter(cursor.get("at_since", []))
    fresh = []
    for line in lines:
        if line.at is not None and since is not None and line.at < since:
            continue
        if line.at is not None and line.at == since and seen[_line_hash(line.text)] > 0:
            seen[_line_hash(line.text)] -= 1
            continue
        fresh.append(line)
    newest = max([line.at for line in lines if line.at is not None] + ([since] if since else []))
    at_newest = list(cursor.get("at_since", [])) if newest == since else []
    at_newest += [_line_hash(line.text) for line in fresh if line.at == newest]
    return [line.text for line in fresh], {"since": newest.isoformat(), "at_since": at_newest}


def _matches_stored_end(hashes: list[str], end: int, stored_tail: list[str]) -> bool:
    """Whether hashes[:end] finishes with the lines stored last (as many of them as it holds)."""
    overlap = min(end, len(stored_tail))
    return hashes[end - overlap:end] == stored_tail[len(stored_tail) - overlap:]


def _already_stored(hashes: list[str], cursor: dict) -> int:
    """How many leading lines of a provider's log tail were stored already. The whole log while it
    fits the tail: the count stored, when the read still starts with those lines. Once it
    outgrows it: the furthest point where the read repeats the last lines stored (0 when none
    are in it: more came than the tail holds)."""
    seen, stored_tail = cursor.get("seen", 0), cursor.get("tail")
    if stored_tail is None:  # a cursor from before tails were kept: by count
        return min(seen, len(hashes))
    if seen <= len(hashes) and _matches_stored_end(hashes, seen, stored_tail):
        return seen
    return next((end for end in range(len(hashes), 0, -1) if _matches_stored_end(hashes, end, stored_tail)), 0)


def _tail_new_lines(lines, cursor: dict) -> tuple[list[str], dict]:
    """Lines without timestamps come as the log's last N each time (Vast.ai: the whole log while
    it is short): the new ones follow where the stored lines end in them."""
    hashes = [_line_hash(line.text) for line in lines]
    stored = _already_stored(hashes, cursor)
    tail = (list(cursor.get("tail") or []) + hashes[stored:])[-TAIL_CONTEXT_LINES:]
    return [line.text for line in lines[stored:]], {"seen": cursor.get("seen", 0) + len(lines) - stored, "tail": tail}


def _remote_new_lines(lines, cursor: dict) -> tuple[list[str], dict]:
    """The lines not stored yet and the cursor after them: by timestamp when the provider gives
    them, else by where the stored lines end in the provider's tail of the log."""
    if any(line.at is not None for line in lines):
        return _timestamped_new_lines(lines, cursor)
    return _tail_new_lines(lines, cursor)


def collect_logs(deployment) -> int:
    """Store the deployment's new log lines; returns how many. Raises the adapter's errors
    (RateLimited among them) so the runner can back off."""
    if not deployment.instance_id or not capable(deployment, "fetch_logs"):
        return 0
    if deployment.provider == LOCAL:
        return _local_tail.step(deployment)
    cursor, seq = _stored_cursor(deployment)
    lines = _call_adapter(deployment, "fetch_logs", deployment.instance_id, since=_remote_since(cursor))
    if not lines:
        return 0
    texts, after = _remote_new_lines(lines, cursor)
    stored = log_append(deployment=deployment, lines=texts, cursor=after, expected_seq=seq)
    return len(stored[1]) if stored else 0


def collect_metrics(deployment):
    """Store one MetricSample from the adapter's readings; returns it (None when nothing came)."""
    if not deployment.instance_id or not capable(deployment, "fetch_metrics"):
        return None
    points = _call_adapter(deployment, "fetch_metrics", deployment.instance_id)
    at = min((point.at for point in points), default=None)
    return metric_record(deployment=deployment, values=values_from_points(points), at=at)


# --- The runner --------------------------------------------------------------------------------


def collectable(*, provider_local: bool | None = None):
    """Deployments whose logs may still change: live ones, and ones that just ended (Local ones
    only, others only, or all when `provider_local` is None)."""
    recent = timezone.now() - FINAL_LINES_GRACE
    live = Deployment.objects.filter(status__in=LIVE_STATUSES) | Deployment.objects.filter(
        status_changed_at__gte=recent)
    live = live.exclude(instance_id="").select_related("credential")
    if provider_local is None:
        return live
    return live.filter(provider=LOCAL) if provider_local else live.exclude(provider=LOCAL)


@dataclass
class _Due:
    """When each deployment's next remote collection is due (monotonic seconds)."""

    at: dict = field(default_factory=dict)

    def due(self, key) -> bool:
        return self.at.get(key, 0.0) <= time.monotonic()

    def after(self, key, seconds: float) -> None:
        self.at[key] = time.monotonic() + seconds

    def any_due(self, deployment_id) -> bool:
        return self.due((deployment_id, "logs")) or self.due((deployment_id, "metrics"))


def _remote_step(deployment, due: _Due) -> None:
    jobs = [("logs", collect_logs, REMOTE_LOGS_INTERVAL_S),
            ("metrics", collect_metrics, METRICS_INTERVAL_S.get(deployment.provider, REMOTE_METRICS_INTERVAL_S))]
    if deployment.provider == LOCAL:
        jobs = jobs[1:]  # the fast tail reads Local logs
    for name, collect, interval in jobs:
        key = (deployment.pk, name)
        if not due.due(key):
            continue
        try:
            collect(deployment)
            due.after(key, interval)
        except RateLimited as exc:  # the provider said when: honour it, never sooner than usual
            due.after(key, max(exc.retry_after or 0.0, interval))
        except (ProviderErrorBase, ProviderDisabled) as exc:
            logger.warning("Collecting %s for deployment %s failed: %s", name, deployment.pk, exc)
            due.after(key, interval)
        except Exception as exc:  # one deployment's bug must not stop the others
            # The type only: an unexpected error's text may quote a request URL or headers.
            logger.error("Collecting %s for deployment %s failed unexpectedly: %s", name, deployment.pk,
                         type(exc).__name__)
            due.after(key, interval)


def _guarded(stop_event: threading.Event, step, interval: float) -> None:
    """Run `step` every `interval` until stopped; a failing step is logged and retried."""
    try:
        while not stop_event.is_set():
            try:
                close_old_connections()
                step()
            except Exception:  # one bad step (database restart, odd file) must not stop collecting
                logger.exception("Collector step failed")
                connection.close()
            stop_event.wait(interval)
    finally:
        connection.close()


def _local_loop(stop_event: threading.Event, interval: float) -> None:
    state = {"deployments": [], "listed_at": float("-inf")}

    def step():
        if time.monotonic() - state["listed_at"] >= REFRESH_LIST_S:
            state["deployments"] = list(collectable(provider_local=True))
            state["listed_at"] = time.monotonic()
            _local_tail.forget([d.pk for d in state["deployments"]])
        for deployment in state["deployments"]:
            _local_tail.step(deployment)
    _guarded(stop_event, step, interval)


def _remote_work(deployment, due: _Due) -> None:
    close_old_connections()  # each worker thread keeps its own connection between tasks
    _remote_step(deployment, due)


def _remote_loop(stop_event: threading.Event) -> None:
    """Deployments are collected side by side (a provider's log stream waits for its idle limit),
    each never twice at once: one slow cloud delays only its own deployments."""
    due, in_flight = _Due(), {}

    def step():
        for pk in [pk for pk, future in in_flight.items() if future.done()]:
            in_flight.pop(pk)
        for deployment in collectable():
            if deployment.pk not in in_flight and due.any_due(deployment.pk):
                in_flight[deployment.pk] = pool.submit(_remote_work, deployment, due)

    with ThreadPoolExecutor(REMOTE_WORKERS, thread_name_prefix="collect-remote") as pool:
        _guarded(stop_event, step, 0.5)


def run_collectors(stop_event: threading.Event, *, tail_interval: float = TAIL_INTERVAL_S) -> None:
    """Collect until `stop_event` is set: the Local tail in one thread, adapter calls (slow,
    rate-limited, Local metrics too) in another, so a slow cloud never delays a Local line."""
    threads = [
        threading.Thread(target=_local_loop, args=(stop_event, tail_interval), name="collect-local", daemon=True),
        threading.Thread(target=_remote_loop, args=(stop_event,), name="collect-remote", daemon=True),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
