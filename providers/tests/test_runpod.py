"""The RunPod adapter against the RunPod sandbox over loopback HTTP (GraphQL wire protocol)."""

import asyncio
import uuid

import httpx
import pytest

from providers.adapters.base import (AuthError, CapacityError, InstanceSpec, InstanceStatus, NotFound,
                                     ProviderError, ProviderUnavailable, RateLimited)
from providers.adapters.runpod import GPU_COUNTS, RunPodAdapter
from providers.sandbox.runpod import CATALOG
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture, sandbox_adapter

KEY = "sbx-test-key-0001"
FROZEN = 1_786_000_000.0


cloud = cloud_fixture("runpod", boot_s=0.15)
adapter = adapter_fixture(RunPodAdapter, KEY)


def make_adapter(sandbox, key=KEY):
    return sandbox_adapter(sandbox, RunPodAdapter, key)


def in_stock(gpu_id, secure=True, at_least=1):
    """An offer id the sandbox has in stock (stock levels are fixed per type, cloud and size)."""
    from providers.sandbox.runpod import RunPodCloud

    gpu, probe = next(g for g in CATALOG if g.id == gpu_id), RunPodCloud()
    count = next(n for n in GPU_COUNTS if n >= at_least and probe.stock(gpu, secure, n))
    return f"{'SECURE' if secure else 'COMMUNITY'}|{count}|{gpu_id}"


def spec(offer_id=None, **extra):
    offer_id = offer_id or in_stock("NVIDIA GeForce RTX 4090")
    return InstanceSpec(deployment_id=uuid.uuid4(), name="train", offer_id=offer_id, image="runpod/pytorch:2.8.0",
                        command=("python", "train.py", "--lr", "3e-4"), env={"HF_TOKEN": "hf_secret"},
                        ports=(8888,), **extra)


async def wait_for(adapter, instance_id, status, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        instance = await adapter.get_instance(instance_id)
        if instance.status is status or loop.time() > deadline:
            return instance
        await asyncio.sleep(0.05)


# --- offers --------------------------------------------------------------------------------------


async def test_offers_are_whole_pod_prices_for_each_size_cloud_and_spot(adapter, cloud):
    cloud.drift.clock = lambda: FROZEN  # same moment for the sandbox and the expectations
    offers = await adapter.list_offers()
    by_key = {(o.offer_id, o.spot): o for o in offers}
    expected = 0
    for gpu in CATALOG:
        for secure, name in ((True, "SECURE"), (False, "COMMUNITY")):
            for count in GPU_COUNTS:
                offer = by_key.get((f"{name}|{count}|{gpu.id}", False))
                if not cloud.stock(gpu, secure, count):
                    assert offer is None  # sold out (stockStatus null) is not offered
                    continue
                expected += 1
                assert offer.price_per_hour == pytest.approx(cloud.price(gpu, secure) * count, abs=1e-3)
                assert offer.price_per_gpu_hour == pytest.approx(cloud.price(gpu, secure), abs=1e-3)
                assert offer.vram_gb_per_gpu == gpu.memory_gb and offer.gpu_count == count
                assert offer.ram_gb == gpu.ram_per_gpu * count and offer.vcpus == gpu.vcpu_per_gpu * count
                spot = by_key[(offer.offer_id, True)]
                assert spot.min_bid_per_hour == spot.price_per_hour == pytest.approx(cloud.bid(gpu, secure) * count, abs=1e-3)
    assert len([o for o in offers if not o.spot]) == expected > 40
    models = {o.gpu_model for o in offers}
    assert {"h100-sxm", "h100-pcie", "h100-nvl", "h200-sxm", "a100-80gb", "rtx-4090", "mi300x", "l40s"} <= models
    assert None not in models


@pytest.mark.parametrize("garbage, message", [
    ("html", "not GraphQL JSON"), ("truncated", "not GraphQL JSON"), ("missing_fields", "without usable price"),
])  # fmt: skip
async def test_garbage_offer_answers_are_readable_provider_errors(adapter, cloud, garbage, message):
    cloud.faults.garbage = garbage
    with pytest.raises(ProviderError, match=message):
        await adapter.list_offers()


# --- errors and credentials ----------------------------------------------------------------------


async def test_good_key_is_accepted_and_a_bad_key_is_refused_without_echoing_it(sandbox, cloud, adapter):
    await adapter.validate_credential()
    async with make_adapter(sandbox, key="rp_CANARY_bad_key") as bad:
        with pytest.raises(AuthError) as raised:
            await bad.validate_credential()
    assert "CANARY" not in str(raised.value)


async def test_429_honours_retry_after_then_gives_up(adapter, cloud):
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as raised:
        await adapter.validate_credential()
    assert raised.value.retry_after == 2.0 and adapter.slept == [2.0] * (adapter.max_attempts - 1)


async def test_a_429_then_success_recovers(adapter, cloud):
    cloud.faults.rate_limit_every = 2  # the first call passes, the second is limited, the retry passes
    await adapter.validate_credential()
    await adapter.validate_credential()
    assert adapter.slept == [2.0]


async def test_outage_is_provider_unavailable(adapter, cloud):
    cloud.faults.outage = True
    with pytest.raises(ProviderUnavailable):
        await adapter.list_offers()


@pytest.mark.parametrize("message, error", [
    ("There are no longer any instances available with the requested specifications.", CapacityError),
    ("pod not found to terminate", NotFound), ("Something odd happened", ProviderError),
])  # fmt: skip
def test_graphql_error_bodies_map_to_the_common_errors(message, error):
    response = httpx.Response(200, json={"errors": [{"message": message, "path": ["x"]}], "data": None})
    assert type(RunPodAdapter(KEY)._classify(response)) is error


# --- lifecycle -----------------------------------------------------------------------------------


async def test_lifecycle_create_running_stop_start_restart_terminate(adapter, cloud):
    wanted = spec()
    created = await adapter.create_instance(wanted)
    assert created.status is InstanceStatus.PROVISIONING and created.raw_status == "RUNNING"
    assert created.tag == wanted.tag and created.ssh_port is None
    pod = cloud.instances[created.instance_id].spec
    assert pod["dockerArgs"] == "python train.py --lr 3e-4" and pod["ports"] == "22/tcp,8888/http"
    running = await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)
    count = int(wanted.offer_id.split("|")[1])
    assert running.status is InstanceStatus.RUNNING and running.price_per_hour == pytest.approx(count * cloud.price(
        next(g for g in CATALOG if g.id == "NVIDIA GeForce RTX 4090"), True), abs=1e-2)
    ssh = await adapter.ssh_info(created.instance_id)
    assert ssh.user == "root" and ssh.port == running.ssh_port and ssh.host == running.public_ip
    assert {m.name for m in await adapter.fetch_metrics(created.instance_id)} >= {"gpu_util_percent", "cpu_percent"}

    await adapter.stop(created.instance_id)
    stopped = await adapter.get_instance(created.instance_id)
    assert stopped.status is InstanceStatus.STOPPED and stopped.raw_status == "EXITED"
    await adapter.start(created.instance_id)
    assert (await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)).status is InstanceStatus.RUNNING
    await adapter.restart(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.PROVISIONING

    await adapter.terminate(created.instance_id)
    await adapter.terminate(created.instance_id)  # already gone counts as done
    with pytest.raises(NotFound):
        await adapter.get_instance(created.instance_id)
    with pytest.raises(NotFound):
        await adapter.stop(created.instance_id)


async def test_a_lost_create_is_found_again_by_tag(sandbox, adapter, cloud):
    wanted, other = spec(), spec()
    await adapter.create_instance(other)
    created = await adapter.create_instance(wanted)
    assert cloud.instances[created.instance_id].spec["name"] == wanted.tag
    cloud.instances[created.instance_id].spec["name"] = "renamed in the console"  # the env var still carries it
    async with make_adapter(sandbox) as fresh:  # e.g. the worker that timed out was restarted
        found = await fresh.list_instances(tag=wanted.tag)
        everything = await fresh.list_instances()
    assert [i.instance_id for i in found] == [created.instance_id]
    assert len(everything) == 2


async def test_spot_pod_is_created_with_a_bid_preempted_and_bid_resumed(adapter, cloud):
    wanted = spec(offer_id=in_stock("NVIDIA H100 80GB HBM3", at_least=2), spot=True)
    created = await adapter.create_instance(wanted)
    assert cloud.instances[created.instance_id].spec["bidPerGpu"] > 0
    await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)
    cloud.faults.preempt_spot = True
    preempted = await adapter.get_instance(created.instance_id)
    assert preempted.status is InstanceStatus.PREEMPTED and preempted.raw_status == "EXITED"
    cloud.faults.preempt_spot = False
    await adapter.start(created.instance_id)  # podBidResume: podResume refuses spot pods
    assert (await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)).status is InstanceStatus.RUNNING


async def test_a_bid_below_the_minimum_is_refused(adapter, cloud):
    with pytest.raises(ProviderError, match="below the minimum bid"):
        await adapter.create_instance(spec(spot=True, bid_per_hour=0.01))
    assert cloud.instances == {}


async def test_no_capacity_is_a_capacity_error(adapter, cloud):
    cloud.faults.capacity_error = True
    with pytest.raises(CapacityError, match="no longer any instances available"):
        await adapter.create_instance(spec())
    assert cloud.instances == {}


# --- capabilities --------------------------------------------------------------------------------


def test_capabilities_are_honest():
    caps = RunPodAdapter.capabilities
    assert (caps.spot, caps.stop_start, caps.restart, caps.ssh, caps.metrics, caps.logs) == (True,) * 6
    assert caps.reason("fetch_logs") is None  # REST v2 log stream: test_runpod_logs.py
