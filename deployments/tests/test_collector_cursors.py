"""Where log collection got to: a Local line longer than one read does not stall the tail; a
remote provider's overlapping windows and shared timestamps give every line exactly once, even
across a collector restart or a failed append; one deployment's failure or hung call does not
stop the others."""

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from deployments import collectors, logs
from deployments.local_tail import CUT_MARKER, MAX_READ_BYTES, LocalTail
from deployments.logs import MAX_LINE_CHARS, log_lines_after
from deployments.models import Deployment
from deployments.tests.factories import DeploymentFactory
from providers.adapters.base import LogLine

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stored(deployment) -> list[str]:
    return [text for _, text in log_lines_after(deployment=deployment, after_seq=0)]


# --- Local: a line longer than one read ---------------------------------------------------------


def _tail_of(deployment, path) -> LocalTail:
    tail = LocalTail()
    tail.paths[deployment.pk] = path  # no adapter needed: the file is the source
    return tail


def test_a_line_longer_than_one_read_is_stored_cut_and_the_tail_moves_on(team, tmp_path):
    deployment = DeploymentFactory(workspace=team["workspace"], provider="local", instance_id="x")
    path = tmp_path / "output.log"
    path.write_bytes(b"first\n" + b"x" * (MAX_READ_BYTES * 2 + 10) + b"\nafter\n")
    tail = _tail_of(deployment, path)
    for _ in range(5):
        tail.step(deployment)
    lines = stored(deployment)
    assert lines[0] == "first" and lines[2:] == ["after"]  # the rest of the long line is skipped
    assert len(lines[1]) == MAX_LINE_CHARS and lines[1].endswith(CUT_MARKER) and lines[1].startswith("xxx")
    # A restarted collector continues from the saved cursor: nothing repeated.
    with path.open("ab") as out:
        out.write(b"later\n")
    _tail_of(deployment, path).step(deployment)
    assert stored(deployment)[3:] == ["later"]


def test_a_short_partial_line_still_waits_for_its_newline(team, tmp_path):
    deployment = DeploymentFactory(workspace=team["workspace"], provider="local", instance_id="x")
    path = tmp_path / "output.log"
    path.write_bytes(b"done\nhalf")
    tail = _tail_of(deployment, path)
    assert tail.step(deployment) == 1 and tail.step(deployment) == 0
    with path.open("ab") as out:
        out.write(b" line\n")
    tail.step(deployment)
    assert stored(deployment) == ["done", "half line"]


# --- Remote: overlapping windows, equal timestamps, restarts ------------------------------------


class FakeProvider:
    """Answers fetch_logs with the windows a test queues, recording the `since` it was asked."""

    def __init__(self, monkeypatch, *windows):
        self.windows, self.asked = list(windows), []
        monkeypatch.setattr(collectors, "capable", lambda deployment, action: True)
        monkeypatch.setattr(collectors, "_call_adapter", self.call)

    def call(self, deployment, method, instance_id, since=None):
        self.asked.append(since)
        return self.windows.pop(0)


def test_overlapping_windows_and_shared_timestamps_give_each_line_once(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1")
    provider = FakeProvider(
        monkeypatch,
        [LogLine("a", at(0)), LogLine("b", at(1))],
        # The provider answers `>= since`: b again, and c logged later in the same second as b.
        [LogLine("b", at(1)), LogLine("c", at(1)), LogLine("d", at(2))],
        # After a restart: d again, a second identical "d" in that second, then e.
        [LogLine("d", at(2)), LogLine("d", at(2)), LogLine("e", at(3))],
        [LogLine("e", at(3))],  # nothing new
    )
    for _ in range(2):
        collectors.collect_logs(deployment)
    monkeypatch.setattr(collectors, "_local_tail", LocalTail())  # a restarted collector: no memory
    for _ in range(2):
        collectors.collect_logs(Deployment.objects.get(pk=deployment.pk))
    assert stored(deployment) == ["a", "b", "c", "d", "d", "e"]
    assert provider.asked == [None, at(1), at(2), at(3)]


def test_a_failed_append_leaves_the_cursor_so_the_lines_come_again(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1")
    window = [LogLine("a", at(0)), LogLine("b", at(1))]
    FakeProvider(monkeypatch, window, list(window))
    chunks = logs._chunks
    monkeypatch.setattr(logs, "_chunks", lambda *args: 1 / 0)  # the database write fails
    with pytest.raises(ZeroDivisionError):
        collectors.collect_logs(deployment)
    monkeypatch.setattr(logs, "_chunks", chunks)
    collectors.collect_logs(deployment)
    assert stored(deployment) == ["a", "b"]


def test_lines_without_timestamps_are_taken_by_count(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1")
    FakeProvider(monkeypatch, [LogLine("x"), LogLine("y")], [LogLine("x"), LogLine("y"), LogLine("z")])
    collectors.collect_logs(deployment)
    collectors.collect_logs(deployment)
    assert stored(deployment) == ["x", "y", "z"]


# --- Remote: one deployment's trouble is its own ------------------------------------------------


def test_an_unexpected_error_skips_that_deployment_only(team, monkeypatch, caplog):
    broken, healthy = (DeploymentFactory(workspace=team["workspace"], instance_id=f"pod-{n}") for n in (1, 2))
    asked = []

    def collect(deployment):
        asked.append(deployment.pk)
        if deployment.pk == broken.pk:
            raise KeyError("token=not-for-logs")
    monkeypatch.setattr(collectors, "collect_logs", collect)
    monkeypatch.setattr(collectors, "collect_metrics", lambda deployment: None)
    due = collectors._Due()
    with caplog.at_level(logging.ERROR, logger="deployments.collectors"):
        for deployment in (broken, healthy):
            collectors._remote_step(deployment, due)
    assert asked == [broken.pk, healthy.pk]
    assert str(broken.pk) in caplog.text and "KeyError" in caplog.text and "not-for-logs" not in caplog.text
    assert not due.due((broken.pk, "logs"))  # retried at the usual interval, not in a tight loop


def test_a_hung_adapter_call_times_out(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1")
    closed = []

    class Hung:
        async def fetch_metrics(self, instance_id):
            await asyncio.sleep(60)

        async def aclose(self):
            closed.append(True)
    monkeypatch.setattr(collectors, "credential_adapter", lambda credential: Hung())
    monkeypatch.setattr(collectors, "ADAPTER_TIMEOUT_S", 0.05)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        collectors._call_adapter(deployment, "fetch_metrics", deployment.instance_id)
    assert time.monotonic() - started < 10 and closed == [True]


# --- Two readers of one log (the collector and a job's watcher) ---------------------------------


def test_two_collectors_reading_the_same_lines_store_them_once(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1")
    window = [LogLine("a", at(0)), LogLine("b", at(1))]

    def fetch_while_another_collector_stores(deployment, method, instance_id, since=None):
        if not stored(deployment):  # the other reader got the same answer and stored it first
            monkeypatch.setattr(collectors, "_call_adapter", lambda *args, **kwargs: list(window))
            collectors.collect_logs(Deployment.objects.get(pk=deployment.pk))
        return list(window)

    FakeProvider(monkeypatch)
    monkeypatch.setattr(collectors, "_call_adapter", fetch_while_another_collector_stores)
    assert collectors.collect_logs(Deployment.objects.get(pk=deployment.pk)) == 0
    assert stored(deployment) == ["a", "b"]


def test_two_local_tails_of_one_file_store_each_line_once(team, tmp_path):
    deployment = DeploymentFactory(workspace=team["workspace"], provider="local", instance_id="x")
    path = tmp_path / "output.log"
    path.write_bytes(b"one\ntwo\n")
    first, second = _tail_of(deployment, path), _tail_of(deployment, path)
    first._position(deployment, path), second._position(deployment, path)  # both read the cursor
    first.step(deployment)
    assert second.step(deployment) == 0  # its read is stale: nothing stored twice
    with path.open("ab") as out:
        out.write(b"three\n")
    second.step(deployment), first.step(deployment)
    assert stored(deployment) == ["one", "two", "three"]
