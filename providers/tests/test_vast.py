"""The Vast.ai adapter against the Vast.ai sandbox over loopback HTTP (REST /api/v0/ protocol)."""

import asyncio
import uuid

import httpx
import pytest

from providers.adapters.base import (AuthError, CapacityError, InstanceSpec, InstanceStatus, NotFound,
                                     ProviderError, ProviderUnavailable, RateLimited)
from providers.adapters.vast import STORAGE_GB, VastAdapter
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture, sandbox_adapter

KEY = "sbx-test-key-0001"
FROZEN = 1_786_000_000.0


cloud = cloud_fixture("vast", boot_s=0.3)
adapter = adapter_fixture(VastAdapter, KEY)


def make_adapter(sandbox, key=KEY):
    return sandbox_adapter(sandbox, VastAdapter, key)


def cheapest_ask(cloud, gpu_name="RTX 4090"):
    return str(min(m["id"] for m in cloud.machines.values() if m["gpu_name"] == gpu_name))


def spec(offer_id, **extra):
    return InstanceSpec(deployment_id=uuid.uuid4(), name="train", offer_id=offer_id, image="pytorch/pytorch:2.4.0",
                        command=("python", "serve.py"), env={"HF_TOKEN": "hf_secret"}, ports=(8080,),
                        ssh_public_key="ssh-ed25519 AAAA me@x", **extra)


async def wait_for(adapter, instance_id, status, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline, seen = loop.time() + timeout, []
    while True:
        instance = await adapter.get_instance(instance_id)
        seen.append(instance.raw_status)
        if instance.status is status or loop.time() > deadline:
            return instance, seen
        await asyncio.sleep(0.03)


# --- offers --------------------------------------------------------------------------------------


async def test_offers_use_whole_offer_prices_gb_units_and_per_machine_bids(adapter, cloud):
    cloud.drift.clock = lambda: FROZEN
    offers = await adapter.list_offers()
    on_demand = {o.offer_id: o for o in offers if not o.spot}
    spot = {o.offer_id: o for o in offers if o.spot}
    verified = [m for m in cloud.machines.values() if m["verification"] == "verified"]
    assert set(on_demand) == {str(m["id"]) for m in verified} and set(spot) == set(on_demand)
    for machine in verified:
        row = cloud.offer_json(machine, STORAGE_GB)
        offer, bid = on_demand[str(machine["id"])], spot[str(machine["id"])]
        assert offer.price_per_hour == row["dph_total"] and offer.gpu_count == machine["num_gpus"]
        assert offer.vram_gb_per_gpu == pytest.approx(machine["gpu_ram"] / 1024, abs=0.1)
        share = machine["cpu_cores_effective"] / machine["cpu_cores"]
        assert offer.ram_gb == pytest.approx(machine["cpu_ram"] / 1024 * share, abs=0.1)
        assert offer.reliability == machine["reliability2"] and offer.region == machine["geolocation"]
        assert bid.min_bid_per_hour == row["min_bid"]
        assert bid.price_per_hour == pytest.approx(row["min_bid"] + row["dph_total"] - row["dph_base"], abs=1e-3)
    prices = [o.price_per_hour for o in offers if not o.spot]
    assert prices == sorted(prices)  # the search asked for dph_total ascending
    assert {"rtx-4090", "rtx-3090", "rtx-5090", "h100-sxm", "a100-80gb"} <= {o.gpu_model for o in offers}


@pytest.mark.parametrize("garbage, error, message", [
    ("html", ProviderUnavailable, "HTTP 502"), ("truncated", ProviderError, "not JSON"),
    ("missing_fields", ProviderError, "without usable price or GPU fields"),
])  # fmt: skip
async def test_garbage_offer_answers_fail_readably(adapter, cloud, garbage, error, message):
    cloud.faults.garbage = garbage
    with pytest.raises(error, match=message):
        await adapter.list_offers()


# --- errors, rate limits, credentials ------------------------------------------------------------


async def test_good_key_is_accepted_and_a_bad_key_is_refused(sandbox, cloud, adapter):
    await adapter.validate_credential()
    async with make_adapter(sandbox, key="vast_CANARY_key") as bad:
        with pytest.raises(AuthError) as raised:
            await bad.validate_credential()
    assert "CANARY" not in str(raised.value)


async def test_plain_text_429_without_retry_after_backs_off_like_the_official_client(adapter, cloud):
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited, match="too frequent") as raised:
        await adapter.validate_credential()
    assert raised.value.retry_after is None
    assert len(adapter.slept) == 2 and all(0 <= s <= 0.3 for s in adapter.slept)  # 3 tries, short jittered waits


async def test_outage_is_provider_unavailable(adapter, cloud):
    cloud.faults.outage = True
    with pytest.raises(ProviderUnavailable):
        await adapter.get_instance("1")


@pytest.mark.parametrize("status, code, error", [
    (404, "no_such_ask", CapacityError), (410, "no_such_ask", CapacityError), (404, "no_such_instance", NotFound),
    (404, "not_found", NotFound), (401, "invalid_user_key", AuthError), (400, "invalid_price", ProviderError),
    (200, "invalid_args", ProviderError),
])  # fmt: skip
def test_error_bodies_map_to_the_common_errors(status, code, error):
    body = {"success": False, "error": code, "msg": "human readable"}
    assert type(VastAdapter(KEY)._classify(httpx.Response(status, json=body))) is error


# --- lifecycle -----------------------------------------------------------------------------------


async def test_lifecycle_create_running_stop_start_restart_terminate(adapter, cloud):
    wanted = spec(cheapest_ask(cloud))
    created = await adapter.create_instance(wanted)
    assert created.status is InstanceStatus.PROVISIONING and created.raw_status is None and created.tag == wanted.tag
    sent = cloud.instances[created.instance_id].spec
    assert sent["label"] == wanted.tag and sent["env"]["-p 8080:8080"] == "1" and sent["cancel_unavail"] is True
    assert sent["onstart"].endswith("python serve.py") and "price" not in sent
    running, seen = await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)
    assert running.status is InstanceStatus.RUNNING and "loading" in seen
    assert running.ports[22] > 0 and 8080 in running.ports
    ssh = await adapter.ssh_info(created.instance_id)
    assert (ssh.host, ssh.port, ssh.user) == (running.ssh_host, running.ssh_port, "root") and ssh.host == "127.0.0.1"
    assert {m.name for m in await adapter.fetch_metrics(created.instance_id)} >= {"gpu_util_percent", "cpu_percent"}

    await adapter.stop(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.STOPPED
    await adapter.start(created.instance_id)
    assert (await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING))[0].status is InstanceStatus.RUNNING
    await adapter.restart(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.PROVISIONING

    await adapter.terminate(created.instance_id)
    await adapter.terminate(created.instance_id)  # no_such_instance: already gone
    with pytest.raises(NotFound):
        await adapter.get_instance(created.instance_id)


async def test_a_lost_create_is_found_again_by_label(sandbox, adapter, cloud):
    asks = sorted(cloud.machines)[:2]
    wanted = spec(str(asks[0]))
    await adapter.create_instance(spec(str(asks[1])))
    created = await adapter.create_instance(wanted)
    async with make_adapter(sandbox) as fresh:
        found = await fresh.list_instances(tag=wanted.tag)
        everything = await fresh.list_instances()
    assert [i.instance_id for i in found] == [created.instance_id] and len(everything) == 2


async def test_a_rented_or_vanished_offer_is_a_capacity_error(adapter, cloud):
    ask = cheapest_ask(cloud)
    await adapter.create_instance(spec(ask))
    with pytest.raises(CapacityError, match="not available"):
        await adapter.create_instance(spec(ask))  # the machine is taken now
    cloud.faults.capacity_error = True
    with pytest.raises(CapacityError):
        await adapter.create_instance(spec(cheapest_ask(cloud, "RTX 3090")))
    assert len(cloud.instances) == 1


async def test_bid_instance_uses_the_minimum_bid_and_outbid_is_preempted(adapter, cloud):
    ask = cheapest_ask(cloud, "H100 SXM")
    created = await adapter.create_instance(spec(ask, spot=True))
    assert cloud.instances[created.instance_id].spec["price"] == cloud.offer_json(cloud.machines[int(ask)], 0)["min_bid"]
    await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)
    cloud.faults.preempt_spot = True
    preempted = await adapter.get_instance(created.instance_id)
    assert preempted.status is InstanceStatus.PREEMPTED and preempted.raw_status == "stopped"
    await adapter.stop(created.instance_id)  # a stop we asked for is a plain stop, not a preemption
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.STOPPED


async def test_a_bid_under_the_minimum_is_refused(adapter, cloud):
    with pytest.raises(ProviderError, match="invalid_price"):
        await adapter.create_instance(spec(cheapest_ask(cloud), spot=True, bid_per_hour=0.001))
    assert cloud.instances == {}


# --- capabilities --------------------------------------------------------------------------------


def test_capabilities_are_honest():
    caps = VastAdapter.capabilities
    assert (caps.spot, caps.stop_start, caps.restart, caps.ssh, caps.metrics, caps.logs) == (True,) * 6
    assert caps.reason("fetch_logs") is None  # request_logs + result_url: test_vast_logs.py
