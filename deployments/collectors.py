"""Collectors (DESIGN.md §3.6): pull logs and metrics from each deployment's provider into
LogChunk / MetricSample rows, which deployments.logs / deployments.metrics publish once committed.

Remote providers are asked through their adapter (logs every ~5 s, metrics every ~15 s, later
when the provider rate-limits). The Local provider's output file is tailed directly every ~50 ms
by byte offset, so a line a process prints reaches a viewer well under half a second later.

Where each deployment got to (a byte offset, or the last provider timestamp) is kept in the
cache, so a restarted collector continues rather than re-reading. Delivery is at least once: a
crash between storing lines and saving the cursor repeats those lines, never drops them.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from asgiref.sync import async_to_sync
from django.core.cache import cache
from django.db import close_old_connections, connection
from django.utils import timezone

from deployments.logs import last_log_seq, log_append
from deployments.metrics import metric_record, values_from_points
from deployments.models import Deployment, Status
from providers.adapters.base import ProviderErrorBase, RateLimited
from providers.adapters.registry import adapter_class
from providers.services import ProviderDisabled, credential_adapter

logger = logging.getLogger(__name__)

LOCAL = "local"
TAIL_INTERVAL_S = 0.05  # a stat per Local deployment per step: cheap, and half the wait for a line
REMOTE_LOGS_INTERVAL_S = 5.0
METRICS_INTERVAL_S = {"local": 5.0}  # others: REMOTE_METRICS_INTERVAL_S
REMOTE_METRICS_INTERVAL_S = 15.0
REFRESH_LIST_S = 1.0  # how often the loops look for deployments that started or stopped
MAX_READ_BYTES = 1 << 20  # per tail step: a flood is taken in pieces, the loop stays responsive
LIVE_STATUSES = (Status.PROVISIONING, Status.STARTING, Status.RUNNING, Status.STOPPING)
FINAL_LINES_GRACE = timedelta(minutes=2)  # keep reading a little after a process ended


def capable(deployment, action: str) -> bool:
    return adapter_class(deployment.provider).capabilities.supports(action)


def _cursor_key(deployment_id) -> str:
    return f"deployments:log-cursor:{deployment_id}"


def _call_adapter(deployment, method: str, *args, **kwargs):
    """Run one async adapter call from sync code, closing the adapter's HTTP client after."""
    async def call():
        adapter = credential_adapter(deployment.credential)
        try:
            return await getattr(adapter, method)(*args, **kwargs)
        finally:
            await adapter.aclose()
    return async_to_sync(call)()


# --- Local: tail the output file ---------------------------------------------------------------


def _line_text(raw: str) -> str:
    """`<ISO time>\\t<text>` as the Local wrapper writes it → text (other lines as they are)."""
    stamp, tab, text = raw.partition("\t")
    return text if tab and stamp[:4].isdigit() else raw


@dataclass
class LocalTail:
    """Byte offsets into Local deployments' output files, kept in memory between 100 ms steps."""

    offsets: dict = field(default_factory=dict)
    paths: dict = field(default_factory=dict)

    def step(self, deployment) -> int:
        """Store the complete lines written since the last step; returns how many."""
        path = self._path(deployment)
        offset = self._offset(deployment, path)
        if _size(path) <= offset:  # the usual case: nothing written since the last step
            return 0
        try:
            with open(path, "rb") as log:
                log.seek(offset)
                data = log.read(MAX_READ_BYTES)
        except FileNotFoundError:
            return 0
        end = data.rfind(b"\n")  # a line still being written waits for its newline
        if end < 0:
            return 0
        lines = [_line_text(raw) for raw in data[:end].decode("utf-8", errors="replace").split("\n")]
        log_append(deployment=deployment, lines=lines)
        self._advance(deployment.pk, offset + end + 1)
        return len(lines)

    def _path(self, deployment) -> Path:
        if deployment.pk not in self.paths:  # building the adapter decrypts the key: once
            self.paths[deployment.pk] = credential_adapter(deployment.credential).log_path(deployment.instance_id)
        return self.paths[deployment.pk]

    def _offset(self, deployment, path: Path) -> int:
        offset = self.offsets.get(deployment.pk)
        if offset is None:
            offset = (cache.get(_cursor_key(deployment.pk)) or {}).get("offset")
        if offset is None:
            offset = _offset_after_lines(path, last_log_seq(deployment.pk))
        if _size(path) < offset:  # the file was replaced or truncated: start it over
            offset = 0
        self.offsets[deployment.pk] = offset
        return offset

    def _advance(self, deployment_id, offset: int) -> None:
        self.offsets[deployment_id] = offset
        cache.set(_cursor_key(deployment_id), {"offset": offset}, timeout=None)

    def forget(self, keep_ids) -> None:
        for deployment_id in set(self.offsets) - set(keep_ids):
            self.offsets.pop(deployment_id, None)
            self.paths.pop(deployment_id, None)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _offset_after_lines(path: Path, count: int) -> int:
    """With no saved cursor, skip the lines already stored (each file line became one stored line)."""
    if count <= 0:
        return 0
    offset = 0
    with open(path, "rb") as log:
        for _, line in zip(range(count), log, strict=False):
            offset += len(line)
    return offset


_local_tail = LocalTail()


# --- Remote: ask the adapter -------------------------------------------------------------------


def _remote_new_lines(deployment, lines) -> list[str]:
    """The lines not stored yet: by timestamp when the provider gives them, else by count."""
    cursor = cache.get(_cursor_key(deployment.pk)) or {}
    if any(line.at is not None for line in lines):
        since = datetime.fromisoformat(cursor["since"]) if cursor.get("since") else None
        fresh = [line for line in lines if line.at is None or since is None or line.at > since]
        newest = max(line.at for line in lines if line.at is not None)
        cache.set(_cursor_key(deployment.pk), {"since": newest.isoformat()}, timeout=None)
        return [line.text for line in fresh]
    seen = cursor.get("seen", 0)
    cache.set(_cursor_key(deployment.pk), {"seen": len(lines)}, timeout=None)
    return [line.text for line in lines[seen:]]


def _remote_since(deployment) -> datetime | None:
    cursor = cache.get(_cursor_key(deployment.pk)) or {}
    return datetime.fromisoformat(cursor["since"]) if cursor.get("since") else None


def collect_logs(deployment) -> int:
    """Store the deployment's new log lines; returns how many. Raises the adapter's errors
    (RateLimited among them) so the runner can back off."""
    if not deployment.instance_id or not capable(deployment, "fetch_logs"):
        return 0
    if deployment.provider == LOCAL:
        return _local_tail.step(deployment)
    lines = _call_adapter(deployment, "fetch_logs", deployment.instance_id, since=_remote_since(deployment))
    stored = log_append(deployment=deployment, lines=_remote_new_lines(deployment, lines))
    return len(stored[1]) if stored else 0


def collect_metrics(deployment):
    """Store one MetricSample from the adapter's readings; returns it (None when nothing came)."""
    if not deployment.instance_id or not capable(deployment, "fetch_metrics"):
        return None
    points = _call_adapter(deployment, "fetch_metrics", deployment.instance_id)
    at = min((point.at for point in points), default=None)
    return metric_record(deployment=deployment, values=values_from_points(points), at=at)


def collect_once(*, deployment) -> dict:
    """Logs then metrics for one deployment, for the autopilot's sweep. Provider failures are
    logged, not raised: the next sweep tries again."""
    result = {"lines": 0, "metric": False}
    for key, collect in (("lines", collect_logs), ("metric", collect_metrics)):
        try:
            value = collect(deployment)
        except (ProviderErrorBase, ProviderDisabled) as exc:
            logger.warning("Collecting %s for deployment %s failed: %s", key, deployment.pk, exc)
            continue
        result[key] = value if key == "lines" else value is not None
    return result


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


def _remote_loop(stop_event: threading.Event) -> None:
    due = _Due()

    def step():
        for deployment in collectable():
            _remote_step(deployment, due)
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
