"""Collectors against the Local provider with real processes: lines a process prints reach
LogChunk rows (fast tail, no duplicates across restarts), metrics become MetricSamples, and the
runner backs off when a provider rate-limits."""

import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache

from deployments import collectors
from deployments.collectors import LocalTail, collect_logs, collect_metrics, collect_once, run_collectors
from deployments.logs import log_lines_after
from deployments.models import MetricSample
from deployments.tests.factories import DeploymentFactory
from providers.adapters.base import InstanceSpec, LogLine, RateLimited
from providers.services import credential_adapter, workspace_connect_defaults

pytestmark = pytest.mark.django_db(transaction=True)  # the runner's threads must see committed rows

PRINTER = textwrap.dedent("""
    import os, sys, time
    n = 0
    while True:
        if os.path.exists("go"):  # the test creates it when it wants the next line
            os.remove("go")
            n += 1
            print(f"line {n} {time.time()}", flush=True)
        time.sleep(0.01)
""")


@pytest.fixture
def local_deployment(team, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.COMPUTEHUB_LOCAL_PROVIDER = True
    settings.COMPUTEHUB_SANDBOX_URL = ""
    credential = next(c for c in workspace_connect_defaults(workspace=team["workspace"]) if c.provider == "local")
    deployment = DeploymentFactory(workspace=team["workspace"], credential=credential, provider="local")
    adapter = credential_adapter(credential)
    spec = InstanceSpec(deployment_id=deployment.pk, name="t", offer_id="local", image="",
                        command=(sys.executable, "-c", PRINTER))
    instance = async_to_sync(adapter.create_instance)(spec)
    deployment.instance_id = instance.instance_id
    deployment.save(update_fields=["instance_id"])
    yield deployment
    async_to_sync(adapter.terminate)(instance.instance_id)


def next_line(deployment):
    (credential_adapter(deployment.credential).log_path(deployment.instance_id).parent / "work" / "go").touch()


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def stored(deployment):
    return [text.split(" ")[1] for _, text in log_lines_after(deployment=deployment, after_seq=0)]


def test_printed_lines_are_stored_once_and_a_restarted_tail_continues(local_deployment, monkeypatch):
    monkeypatch.setattr(collectors, "_local_tail", LocalTail())
    for expected in (["1"], ["1", "2"]):
        next_line(local_deployment)
        wait_for(lambda: collect_logs(local_deployment))
        assert stored(local_deployment) == expected
    assert collect_logs(local_deployment) == 0  # nothing new, nothing repeated
    monkeypatch.setattr(collectors, "_local_tail", LocalTail())  # a restarted collector process
    next_line(local_deployment)
    wait_for(lambda: collect_logs(local_deployment))
    assert stored(local_deployment) == ["1", "2", "3"]
    cache.clear()  # even without its saved cursor it skips what is stored
    monkeypatch.setattr(collectors, "_local_tail", LocalTail())
    next_line(local_deployment)
    wait_for(lambda: collect_logs(local_deployment))
    assert stored(local_deployment) == ["1", "2", "3", "4"]


def test_runner_stores_a_printed_line_within_half_a_second(local_deployment):
    stop = threading.Event()
    runner = threading.Thread(target=run_collectors, args=(stop,))
    runner.start()
    try:
        time.sleep(0.5)  # the runner has listed the deployment
        for _ in range(3):
            before = len(stored(local_deployment))
            next_line(local_deployment)
            lines = wait_for(lambda: log_lines_after(deployment=local_deployment, after_seq=before), timeout=5)
            printed_at = float(lines[0][1].split(" ")[2])
            assert time.time() - printed_at < 0.5
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_metrics_of_the_local_process_become_samples(local_deployment):
    sample = collect_metrics(local_deployment)
    assert sample is not None and sample.seq == 1
    assert set(sample.values) >= {"cpu_percent", "ram_used_gb"} and sample.values["ram_used_gb"] > 0
    assert MetricSample.objects.filter(deployment=local_deployment).count() == 1
    assert collect_once(deployment=local_deployment)["metric"] is True


def test_remote_lines_are_taken_after_the_last_timestamp(team):
    deployment = DeploymentFactory(workspace=team["workspace"])
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = [LogLine("a", t0), LogLine("b", t0 + timedelta(seconds=1))]
    assert collectors._remote_new_lines(deployment, first) == ["a", "b"]
    assert collectors._remote_since(deployment) == t0 + timedelta(seconds=1)
    assert collectors._remote_new_lines(deployment, [*first, LogLine("c", t0 + timedelta(seconds=2))]) == ["c"]
    # Without timestamps the provider returns its whole log each time: skip what was seen.
    other = DeploymentFactory(workspace=team["workspace"])
    assert collectors._remote_new_lines(other, [LogLine("x"), LogLine("y")]) == ["x", "y"]
    assert collectors._remote_new_lines(other, [LogLine("x"), LogLine("y"), LogLine("z")]) == ["z"]


def test_rate_limited_provider_is_skipped_until_retry_after(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="pod-1")
    calls = []

    def limited(d):
        calls.append(d.pk)
        raise RateLimited(retry_after=120)
    monkeypatch.setattr(collectors, "collect_logs", limited)
    monkeypatch.setattr(collectors, "collect_metrics", lambda d: None)
    due = collectors._Due()
    collectors._remote_step(deployment, due)
    collectors._remote_step(deployment, due)  # too soon: not asked again
    assert calls == [deployment.pk]
    assert due.at[(deployment.pk, "logs")] - time.monotonic() > 100
