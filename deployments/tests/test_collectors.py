"""Collectors against the Local provider with real processes: lines a process prints reach
LogChunk rows (fast tail, no duplicates across restarts), metrics become MetricSamples, and the
runner backs off when a provider rate-limits. Remote collection (fake adapter) and the tail's
handling of over-long lines are in test_collector_cursors.py."""

import sys
import textwrap
import threading
import time

import pytest
from asgiref.sync import async_to_sync

from deployments import collectors
from deployments.collectors import LocalTail, collect_logs, collect_metrics, run_collectors
from deployments.logs import log_lines_after
from deployments.models import Deployment, MetricSample
from deployments.tests.factories import DeploymentFactory
from providers.adapters.base import InstanceSpec, RateLimited
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
    # A deployment with no saved cursor (from before cursors were stored) skips what is stored.
    Deployment.objects.filter(pk=local_deployment.pk).update(log_cursor={})
    monkeypatch.setattr(collectors, "_local_tail", LocalTail())
    next_line(local_deployment)
    wait_for(lambda: collect_logs(local_deployment))
    assert stored(local_deployment) == ["1", "2", "3", "4"]


def test_runner_stores_printed_lines(local_deployment):
    """Functional only: the line arrives. Latency is measured by bench/logs.py, not asserted
    here, where a loaded CI machine would make a wall-clock bound flaky."""
    stop = threading.Event()
    runner = threading.Thread(target=run_collectors, args=(stop,))
    runner.start()
    try:
        for n in range(1, 4):
            next_line(local_deployment)
            wait_for(lambda n=n: len(stored(local_deployment)) >= n, timeout=30)
        assert stored(local_deployment) == ["1", "2", "3"]
    finally:
        stop.set()
        runner.join(timeout=10)
    assert not runner.is_alive()


def test_metrics_of_the_local_process_become_samples(local_deployment):
    sample = collect_metrics(local_deployment)
    assert sample is not None and sample.seq == 1
    assert set(sample.values) >= {"cpu_percent", "ram_used_gb"} and sample.values["ram_used_gb"] > 0
    assert MetricSample.objects.filter(deployment=local_deployment).count() == 1
    collectors._remote_step(local_deployment, collectors._Due())  # the runner's path for Local metrics
    assert MetricSample.objects.filter(deployment=local_deployment).count() == 2


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


def test_a_provider_that_keeps_a_read_open_does_not_hold_up_other_deployments(team, monkeypatch):
    """Remote deployments are collected side by side: the first one's read only ends once the
    second one's lines are stored, which one collector at a time could never do."""
    slow, quick = (DeploymentFactory(workspace=team["workspace"], instance_id=name, status="running",
                                     provider="runpod") for name in ("slow", "quick"))
    quick_done, slow_saw_quick = threading.Event(), []

    def collect(deployment):
        if deployment.pk == slow.pk:
            slow_saw_quick.append(quick_done.wait(timeout=20))
        else:
            quick_done.set()
    monkeypatch.setattr(collectors, "collect_logs", collect)
    monkeypatch.setattr(collectors, "collect_metrics", lambda deployment: None)
    monkeypatch.setattr(collectors, "collectable", lambda **kwargs: [slow, quick])
    stop = threading.Event()
    runner = threading.Thread(target=collectors._remote_loop, args=(stop,))
    runner.start()
    try:
        wait_for(lambda: slow_saw_quick, timeout=40)
    finally:
        stop.set()
        runner.join(timeout=40)
    assert slow_saw_quick == [True] and not runner.is_alive()
