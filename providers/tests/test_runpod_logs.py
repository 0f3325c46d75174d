"""RunPod's container logs: the REST v2 Server-Sent Events stream (reference/providers.md §1.8)
read by the adapter from the sandbox over loopback, and pods whose command ends by itself."""

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from httpx_sse import aconnect_sse

from automation.jobqueue.marker import wrap_command
from providers.adapters.base import InstanceSpec, InstanceStatus, NotFound
from providers.adapters.runpod import RunPodAdapter
from providers.adapters.sse import Bounds, read_bounded
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture
from providers.tests.test_runpod import in_stock

KEY = "sbx-test-key-0001"
FROZEN = 1_786_000_000.0
BOOT_S, EVERY_S = 1.0, 2.0
QUICK = Bounds(idle_s=0.2, total_s=5.0)

cloud = cloud_fixture("runpod", clock_at=FROZEN, boot_s=BOOT_S, log_every_s=EVERY_S)
adapter = adapter_fixture(RunPodAdapter, KEY, sse_bounds=QUICK)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(FROZEN, UTC) + timedelta(seconds=seconds)


async def launch(adapter, command=("python", "train.py"), **env) -> str:
    spec = InstanceSpec(deployment_id=uuid.uuid4(), name="train", offer_id=in_stock("NVIDIA GeForce RTX 4090"),
                        image="runpod/pytorch:2.8.0", command=tuple(command), env=env)
    return (await adapter.create_instance(spec)).instance_id


def texts(lines) -> list[str]:
    return [line.text for line in lines]


BANNER = "[sandbox] container started from runpod/pytorch:2.8.0 (run 1)"


async def test_lines_arrive_in_order_with_their_timestamps_and_since_resumes_there(adapter, cloud):
    pod = await launch(adapter)
    assert await adapter.fetch_logs(pod) == []  # still booting: nothing printed yet
    cloud.clock_.advance(BOOT_S + 3 * EVERY_S)

    lines = await adapter.fetch_logs(pod)
    assert texts(lines) == [BANNER, "working: step 1", "working: step 2", "working: step 3"]
    assert [line.at for line in lines] == [at(BOOT_S + n * EVERY_S) for n in range(4)]

    cloud.clock_.advance(2 * EVERY_S)
    later = await adapter.fetch_logs(pod, since=lines[-1].at)
    # `since` is inclusive (lines may share a timestamp): the line at it comes again, and the
    # collector's cursor drops it (deployments/tests/test_collector_tails.py).
    assert texts(later) == ["working: step 3", "working: step 4", "working: step 5"]


async def test_an_unknown_pod_is_not_found(adapter, cloud):
    with pytest.raises(NotFound, match="pod not found"):
        await adapter.fetch_logs("nosuchpod0001")
    with pytest.raises(NotFound):
        await adapter.fetch_logs("../graphql")  # never put into the path


async def test_a_stream_that_never_goes_quiet_is_cut_at_the_reader_bound(adapter, cloud, monkeypatch):
    monkeypatch.setattr(cloud, "clock", time.time)  # real time: the container keeps printing
    monkeypatch.setattr(cloud, "log_every_s", 0.02)  # faster than the reader's idle limit
    monkeypatch.setattr(cloud, "log_follow_s", 120.0)  # the server would stream for two minutes
    monkeypatch.setattr(RunPodAdapter, "sse_bounds", Bounds(idle_s=0.2, total_s=1.0))
    pod = await launch(adapter)
    await asyncio.sleep(BOOT_S + 0.1)

    lines = await asyncio.wait_for(adapter.fetch_logs(pod), timeout=30)

    assert texts(lines)[:2] == [BANNER, "working: step 1"]
    assert (await adapter.get_instance(pod)).status is InstanceStatus.RUNNING  # cut by us, not by the server
    steps = [int(text.rsplit(" ", 1)[1]) for text in texts(lines)[1:]]
    assert steps == list(range(1, len(steps) + 1))  # in order, none twice


async def test_a_command_that_ends_leaves_an_exited_pod_whose_log_ends_with_its_exit_code(adapter, cloud, monkeypatch):
    monkeypatch.setattr(RunPodAdapter, "sse_bounds", Bounds(idle_s=60.0, total_s=60.0))  # only the server ends it
    pod = await launch(adapter, wrap_command(["python", "train.py"]), SANDBOX_EXIT_AFTER_S="5", SANDBOX_EXIT_CODE="3")
    cloud.clock_.advance(BOOT_S + 4.9)
    assert (await adapter.get_instance(pod)).status is InstanceStatus.RUNNING
    cloud.clock_.advance(0.1)

    ended = await adapter.get_instance(pod)
    assert (ended.status, ended.raw_status, ended.price_per_hour) == (InstanceStatus.FAILED, "EXITED", 0)
    lines = await asyncio.wait_for(adapter.fetch_logs(pod), timeout=30)  # an exited pod's stream closes
    assert texts(lines) == [BANNER, "working: step 1", "working: step 2", "[computehub] exit code 3"]
    assert lines[-1].at == at(BOOT_S + 5)

    await adapter.stop(pod)  # a user's stop is a stop, which may be started again
    assert (await adapter.get_instance(pod)).status is InstanceStatus.STOPPED


async def test_without_the_wrapper_an_ended_command_prints_no_exit_code(adapter, cloud):
    pod = await launch(adapter, SANDBOX_EXIT_AFTER_S="3")
    cloud.clock_.advance(BOOT_S + 3)
    assert (await adapter.get_instance(pod)).status is InstanceStatus.FAILED
    assert texts(await adapter.fetch_logs(pod)) == [BANNER, "working: step 1"]


# --- the wire protocol, as any SSE client sees it ------------------------------------------------


async def read(sandbox, pod, key=KEY, **params):
    url = sandbox.url("runpod", f"/v2/pods/{pod}/logs")
    headers = {"Authorization": f"Bearer {key}", **params.pop("headers", {})}
    async with httpx.AsyncClient(headers=headers) as client:
        async with aconnect_sse(client, "GET", url, params=params) as source:
            if source.response.status_code != 200:
                await source.response.aread()
                return source.response
            return await read_bounded(source, QUICK)


async def test_events_carry_source_line_and_ts_with_the_ts_as_id_and_resume_after_last_event_id(
        sandbox, adapter, cloud):
    pod = await launch(adapter)
    cloud.clock_.advance(BOOT_S + 3 * EVERY_S)

    events = await read(sandbox, pod, tail="2", source="container")
    data = [json.loads(event.data) for event in events]
    assert [d["line"] for d in data] == ["working: step 2", "working: step 3"]
    assert all(d["source"] == "container" and d["ts"] == event.id for d, event in zip(data, events))
    assert datetime.fromisoformat(events[0].id) == at(BOOT_S + 2 * EVERY_S)

    resumed = await read(sandbox, pod, headers={"Last-Event-ID": events[0].id})
    assert [json.loads(event.data)["line"] for event in resumed] == ["working: step 3"]  # strictly after it


@pytest.mark.parametrize("params, status, detail", [
    ({"tail": "5001"}, 400, "invalid log query"), ({"tail": "-1"}, 400, "invalid log query"),
    ({"since": "yesterday"}, 400, "invalid log query"), ({"source": "kernel"}, 400, "invalid log query"),
])  # fmt: skip
async def test_bad_queries_are_rfc9457_problems(sandbox, adapter, cloud, params, status, detail):
    pod = await launch(adapter)
    response = await read(sandbox, pod, **params)
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == detail and response.json()["errors"]


async def test_unknown_pods_and_bad_keys_are_problems_too(sandbox, adapter, cloud):
    missing = await read(sandbox, "nosuchpod0001")
    assert (missing.status_code, missing.json()["detail"]) == (404, "pod not found")
    refused = await read(sandbox, await launch(adapter), key="not-a-sandbox-key")
    assert refused.status_code == 401 and refused.json()["title"] == "Unauthorized"
