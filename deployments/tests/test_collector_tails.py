"""Remote log lines into a deployment's rows: a provider that answers the last N lines of the log
without timestamps (Vast.ai) overlaps what was stored, yet every line is stored once; and a
running sandbox deployment's lines (RunPod's event stream, Vast.ai's log file) reach its rows
through the collector."""

import pytest

from deployments import collectors
from deployments.models import Deployment, Status
from deployments.tests.factories import DeploymentFactory
from deployments.tests.test_collector_cursors import FakeProvider, stored
from deployments.tests.test_lifecycle_sandbox import connected, drive, launch  # noqa: F401  (sandbox accounts)
from providers.adapters import vast
from providers.adapters.base import LogLine
from providers.adapters.runpod import RunPodAdapter
from providers.adapters.sse import Bounds
from providers.tests.adapter_helpers import freeze_clock

LOG = ["a", "tick", "tick", "b", "tick", "tick", "tick", "c", "d", "tick"]


def tail_of(lines: list[str], length: int, keeps: int) -> list[LogLine]:
    """What a provider keeping the last `keeps` lines answers once the log is `length` long."""
    return [LogLine(text) for text in lines[:length][-keeps:]]


def test_overlapping_tails_with_repeated_lines_give_each_line_once(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="1")
    FakeProvider(monkeypatch, *(tail_of(LOG, length, keeps=4) for length in (2, 4, 7, 10, 10)))
    for _ in range(5):
        collectors.collect_logs(Deployment.objects.get(pk=deployment.pk))  # the cursor as stored
    assert stored(deployment) == LOG


def test_a_whole_log_that_still_fits_the_tail_is_taken_by_count_even_when_lines_repeat(team, monkeypatch):
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="1")
    FakeProvider(monkeypatch, tail_of(["tick"] * 3, 3, keeps=10), tail_of(["tick"] * 5, 5, keeps=10))
    for _ in range(2):
        collectors.collect_logs(Deployment.objects.get(pk=deployment.pk))
    assert stored(deployment) == ["tick"] * 5


def test_more_new_lines_than_the_tail_holds_are_taken_as_they_come_and_never_repeated(team, monkeypatch):
    log = [f"line {n}" for n in range(12)]
    deployment = DeploymentFactory(workspace=team["workspace"], instance_id="1")
    FakeProvider(monkeypatch, tail_of(log, 3, keeps=3), tail_of(log, 10, keeps=3), tail_of(log, 12, keeps=3))
    for _ in range(3):
        collectors.collect_logs(Deployment.objects.get(pk=deployment.pk))
    assert stored(deployment) == log[:3] + log[7:]  # lines 3..6 scrolled out of the tail between two reads


@pytest.mark.parametrize("kind", ["runpod", "vast"])
def test_a_running_sandbox_deployments_lines_land_in_its_log_rows_once(connected, team, sandbox, monkeypatch, kind):
    cloud = sandbox.clouds[kind]
    clock = freeze_clock(monkeypatch, cloud, cloud.clock())
    monkeypatch.setattr(cloud, "log_every_s", 1.0)
    monkeypatch.setattr(RunPodAdapter, "sse_bounds", Bounds(idle_s=0.2, total_s=5.0))
    monkeypatch.setattr(vast, "LOG_TAIL", 3)  # fewer lines than come between two reads and the one before
    monkeypatch.setattr(cloud, "log_upload_s", 0.0, raising=False)
    deployment = launch(connected, team["developer"], kind)
    drive(deployment, lambda d: bool(d.instance_id))
    clock.advance(1.0)  # booted: the container printed its banner
    drive(deployment, lambda d: d.status == Status.RUNNING)

    for _ in range(3):
        clock.advance(2.0)  # two more lines
        collectors.collect_logs(Deployment.objects.select_related("credential").get(pk=deployment.pk))

    assert stored(deployment) == ["[sandbox] container started from python:3.12-slim (run 1)"] + [
        f"working: step {n}" for n in range(1, 7)]
