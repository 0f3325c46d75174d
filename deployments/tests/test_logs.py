"""Log storage: sequence numbers, chunk splitting on read, retention, publish after commit."""

import threading

import pytest
from django.db import connection, transaction

from deployments import logs
from deployments.logs import log_append, log_lines_after
from deployments.models import Deployment, LogChunk
from deployments.tests.factories import DeploymentFactory


@pytest.fixture
def deployment(team):
    return DeploymentFactory(workspace=team["workspace"])


def test_appends_get_consecutive_seqs_and_reads_split_chunks(deployment):
    assert log_append(deployment=deployment, lines=["a", "b", "c"]) == (1, ["a", "b", "c"])
    assert log_append(deployment=deployment, lines=["d\ne", "f\r"]) == (4, ["d", "e", "f"])
    assert log_lines_after(deployment=deployment, after_seq=0) == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e"), (6, "f")]
    # Starting and ending inside chunks.
    assert log_lines_after(deployment=deployment, after_seq=2, limit=3) == [(3, "c"), (4, "d"), (5, "e")]
    assert log_lines_after(deployment=deployment, after_seq=6) == []
    assert Deployment.objects.get(pk=deployment.pk).log_seq == 6


def test_empty_append_stores_nothing(deployment):
    assert log_append(deployment=deployment, lines=[]) is None
    assert not LogChunk.objects.exists()


def test_big_append_is_split_into_bounded_chunks_and_read_whole(deployment):
    lines = [f"line {n}" for n in range(1, 2501)]
    log_append(deployment=deployment, lines=lines)
    assert list(LogChunk.objects.values_list("line_count", flat=True)) == [1000, 1000, 500]
    got = log_lines_after(deployment=deployment, after_seq=1500, limit=10_000)
    assert got == [(n, f"line {n}") for n in range(1501, 2501)]


def test_retention_keeps_the_last_10000_lines(deployment, monkeypatch):
    monkeypatch.setattr(logs, "KEEP_LINES", 100)
    for start in range(0, 300, 30):
        log_append(deployment=deployment, lines=[str(n) for n in range(start + 1, start + 31)])
    kept = log_lines_after(deployment=deployment, after_seq=0)
    # Whole chunks older than the last 100 lines are gone; the chunk straddling the edge stays.
    assert kept[0][0] == 181 and kept[-1] == (300, "300")
    assert [seq for seq, _ in kept] == list(range(181, 301))


def test_publishes_only_after_commit(deployment, monkeypatch, django_capture_on_commit_callbacks):
    published = []
    monkeypatch.setattr(logs.realtime, "publish_log_lines", lambda d, first, lines: published.append((first, lines)))
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            log_append(deployment=deployment, lines=["rolled back"])
            transaction.set_rollback(True)
        log_append(deployment=deployment, lines=["y"])
        assert published == []  # not before the commit
    assert published == [(1, ["y"])]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_never_share_a_seq(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    errors = []

    def writer(name):
        try:
            for n in range(30):
                log_append(deployment=deployment, lines=[f"{name}-{n}-a", f"{name}-{n}-b"])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("p", "q")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = log_lines_after(deployment=deployment, after_seq=0)
    assert [seq for seq, _ in rows] == list(range(1, 121))
    # Each append's two lines stayed together: ranges were allocated atomically.
    for (seq_a, a), (_, b) in zip(rows[::2], rows[1::2], strict=True):
        assert a.endswith("-a") and b == a[:-1] + "b", (seq_a, a, b)
