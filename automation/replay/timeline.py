"""A deployment's state at a past moment, read from its recorded status changes and health flips."""

from datetime import datetime, timedelta

from automation.replay.history import History

RUNNING = "running"


def status_at(history: History, deployment_id: str, at: datetime) -> str | None:
    """The status recorded last before `at`; before the first recorded change, where that one
    started from; with no change recorded at all, the status it has now."""
    rows = history.of("statuses", deployment_id)
    before = [row for row in rows if row.at <= at]
    if before:
        return before[-1].new
    if rows:
        return rows[0].old
    info = history.deployments.get(deployment_id)
    if info is None or (info.created_at and info.created_at > at):
        return None
    return info.status


def health_at(history: History, deployment_id: str, at: datetime) -> str | None:
    """"up" / "down" / "unknown" from the last flip before `at`; None when nothing was recorded."""
    rows = [row for row in history.of("flips", deployment_id) if row.at <= at]
    return rows[-1].new if rows else None


def running_intervals(history: History, deployment_id: str, start: datetime, end: datetime):
    """(from, to) spans within [start, end] during which the deployment was running."""
    state, since = status_at(history, deployment_id, start) == RUNNING, start
    for row in history.of("statuses", deployment_id):
        if row.at <= start or row.at >= end:
            continue
        now_running = row.new == RUNNING
        if state and not now_running:
            yield since, row.at
        if now_running and not state:
            since = row.at
        state = now_running
    if state:
        yield since, end


def running_hours(history: History, deployment_id: str, start: datetime, end: datetime) -> float:
    if end <= start:
        return 0.0
    spans = running_intervals(history, deployment_id, start, end)
    return sum((to - since for since, to in spans), timedelta()) / timedelta(hours=1)


def running_deployments(history: History, at: datetime) -> list[str]:
    return [pk for pk in history.deployments if status_at(history, pk, at) == RUNNING]


def next_up(history: History, deployment_id: str, after: datetime) -> datetime | None:
    """When a down deployment was recorded up (or running) again after `after`."""
    flips = [row.at for row in history.of("flips", deployment_id) if row.at > after and row.new == "up"]
    starts = [row.at for row in history.of("statuses", deployment_id) if row.at > after and row.new == RUNNING]
    moments = flips[:1] + starts[:1]
    return min(moments) if moments else None


def next_needed(history: History, deployment_id: str, after: datetime, *, busy_percent: float | None = None):
    """When someone next wanted the deployment after `after`: a person started or restarted it,
    or (for an idle stop) its GPU got busy again; None: not within the window."""
    moments = [row.at for row in history.of("actions", deployment_id)
               if row.at > after and row.action in ("start", "restart")][:1]
    if busy_percent is not None:
        moments += [row.at for row in history.of("samples", deployment_id) if row.at > after
                    and (row.values.get("gpu_util_percent") or 0) >= busy_percent][:1]
    return min(moments) if moments else None
