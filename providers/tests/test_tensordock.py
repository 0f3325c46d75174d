"""TensorDock v2 adapter against the TensorDock sandbox over loopback (reference/providers.md §4)."""

import uuid

import httpx
import pytest

from providers.adapters.base import (AuthError, CapacityError, InstanceSpec, InstanceStatus, NotFound, NotSupported,
                                     ProviderError, ProviderUnavailable, RateLimited)
from providers.adapters.tensordock import TensorDockAdapter, create_attributes, port_forwards, unwrap
from providers.sandbox.tensordock import PRICING, RATE_LIMIT_PER_MINUTE, location_id
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture, sandbox_adapter

KEY = "sbx-test-key-0002"
FAST = (1e6, 1000)
DALLAS, CHUBBUCK = location_id("Dallas"), location_id("Chubbuck")


cloud = cloud_fixture("tensordock", clock_at=1_750_000_020.0)
adapter = adapter_fixture(TensorDockAdapter, KEY, rate=FAST)


def make_adapter(sandbox, key=KEY):
    return sandbox_adapter(sandbox, TensorDockAdapter, key)


def spec(offer_id=f"{CHUBBUCK}:geforcertx4090-pcie-24gb:1:8:32", **extra):
    extra.setdefault("ssh_public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITensorDock me@host")
    return InstanceSpec(deployment_id=uuid.uuid4(), name="train", offer_id=offer_id, image="pytorch/pytorch:latest", **extra)


# --- offers ----------------------------------------------------------------------------------------


async def test_offer_price_is_gpus_plus_priced_resources(adapter, cloud):
    offers = {o.offer_id: o for o in await adapter.list_offers()}
    four = offers[f"{CHUBBUCK}:geforcertx4090-pcie-24gb:4:32:128"]
    per_gpu = cloud.gpu_row("Chubbuck", "geforcertx4090-pcie-24gb", 4)["price_per_hr"]
    expected = 4 * per_gpu + 32 * PRICING["per_vcpu_hr"] + 128 * PRICING["per_gb_ram_hr"] + 100 * PRICING["per_gb_storage_hr"]
    assert four.price_per_hour == pytest.approx(expected, abs=1e-4)
    assert (four.gpu_count, four.vcpus, four.ram_gb, four.disk_gb, four.available) == (4, 32, 128, 100, 1)
    assert (four.gpu_model, four.vram_gb_per_gpu, four.region) == ("rtx-4090", 24, "Chubbuck, United States")
    assert offers[f"{CHUBBUCK}:geforcertx4090-pcie-24gb:1:8:32"].available == 4


async def test_counts_follow_what_is_free_and_sold_out_gpus_show_unavailable(adapter):
    offers = await adapter.list_offers()
    h100 = sorted(o.gpu_count for o in offers if o.offer_id.startswith(f"{DALLAS}:h100"))
    assert h100 == [1, 2, 4, 8]
    l40 = [o for o in offers if o.offer_id.startswith(f"{DALLAS}:l40")]
    assert [(o.gpu_count, o.available, o.gpu_model) for o in l40] == [(1, 0, "l40")]
    assert {o.gpu_model for o in offers} >= {"rtx-3090", "rtx-a6000", "a100-80gb", "h100-sxm"}


@pytest.mark.parametrize("garbage", ["html", "truncated", "missing_fields"])
async def test_garbage_offer_listings_are_a_readable_provider_error(adapter, cloud, garbage):
    cloud.faults.garbage = garbage
    with pytest.raises(ProviderError, match="TensorDock"):
        await adapter.list_offers()


# --- envelopes -------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"data": {"type": "virtualmachine", "id": "i-1", "attributes": {"name": "ch-x", "status": "Running"}}},
    {"data": {"id": "i-1", "name": "ch-x", "status": "Running"}},
    {"id": "i-1", "name": "ch-x", "status": "Running"},
    {"type": "virtualmachine", "id": "i-1", "attributes": {"name": "ch-x", "status": "Running"}},
])
def test_every_envelope_variant_parses_to_the_same_instance(body):
    instance = TensorDockAdapter(KEY)._instance(unwrap(body))
    assert (instance.instance_id, instance.tag, instance.status, instance.raw_status) == (
        "i-1", "ch-x", InstanceStatus.RUNNING, "Running")


def test_port_forwards_list_and_map_forms():
    assert port_forwards([{"internal_port": 22, "external_port": 20022}]) == {22: 20022}
    assert port_forwards({"22": 20022, "8888": "20888"}) == {22: 20022, 8888: 20888}
    assert port_forwards(None) == {}


def test_create_attributes_rent_what_the_offer_priced():
    attributes = create_attributes(spec(disk_gb=120, env={"HF_TOKEN": "hf_x y"}, command=("python", "train.py")))
    assert attributes["location_id"] == CHUBBUCK and attributes["name"].startswith("ch-")
    assert attributes["resources"] == {"vcpu_count": 8, "ram_gb": 32, "storage_gb": 150,
                                       "gpus": {"geforcertx4090-pcie-24gb": {"count": 1}}}
    assert "-e 'HF_TOKEN=hf_x y'" in attributes["cloud_init"]["runcmd"][0]
    with pytest.raises(NotFound):
        create_attributes(spec(offer_id="gpu_1x_a10@us-east-1"))


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "body", "expected"), [
    (401, {"error": "Unauthorized"}, AuthError),
    (403, {"message": "Forbidden"}, AuthError),
    (404, {"error": "Not found"}, NotFound),
    (400, {"error": "No available hostnodes found for the requested resources"}, CapacityError),
    (400, {"error": "Minimum storage is 100 GB"}, ProviderError),
    (503, None, ProviderUnavailable),
])
def test_classify_maps_status_and_body(status, body, expected):
    response = httpx.Response(status, json=body) if body else httpx.Response(status, text="<html>down</html>")
    assert type(TensorDockAdapter(KEY)._classify(response)) is expected


async def test_outage_is_provider_unavailable(adapter, cloud):
    cloud.faults.outage = True
    with pytest.raises(ProviderUnavailable):
        await adapter.list_instances()


async def test_429_with_retry_after_waits_that_long(adapter, cloud):
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as caught:
        await adapter.list_instances()
    until_next_minute = 60 - int(cloud.clock_.now % 60)
    assert caught.value.retry_after == until_next_minute > 20 and adapter.slept == [20, 20, 20]  # max_delay cap


async def test_429_without_retry_after_backs_off(adapter, cloud, monkeypatch):
    monkeypatch.setattr(cloud, "send_retry_after", False)
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as caught:
        await adapter.list_instances()
    assert caught.value.retry_after is None and len(adapter.slept) == adapter.max_attempts - 1


async def test_the_real_limit_of_100_a_minute_is_enforced_and_resets(adapter, cloud):
    for _ in range(RATE_LIMIT_PER_MINUTE):
        await adapter.list_instances()
    with pytest.raises(RateLimited):
        await adapter.list_instances()
    cloud.clock_.advance(60)
    assert await adapter.list_instances() == []


def test_adapter_paces_itself_at_100_a_minute():
    assert TensorDockAdapter.rate_limit[0] == pytest.approx(100 / 60)


# --- credential and capabilities -------------------------------------------------------------------


async def test_good_key_is_accepted_and_a_bad_one_is_an_auth_error(adapter, sandbox):
    await adapter.validate_credential()
    async with make_adapter(sandbox, key="live-td-token-99") as bad:
        with pytest.raises(AuthError) as caught:
            await bad.validate_credential()
    assert "live-td-token-99" not in str(caught.value)


async def test_capabilities_stop_start_yes_restart_and_spot_no(adapter):
    caps = TensorDockAdapter.capabilities
    assert (caps.stop_start, caps.ssh, caps.restart, caps.spot) == (True, True, False, False)
    with pytest.raises(NotSupported, match="cannot restart"):
        await adapter.restart("i-1")
    with pytest.raises(NotSupported):
        await adapter.create_instance(spec(spot=True))


# --- lifecycle -------------------------------------------------------------------------------------


async def test_create_run_stop_start_delete(adapter, cloud):
    created = await adapter.create_instance(spec())
    assert (created.status, created.raw_status) == (InstanceStatus.STARTING, "starting")
    cloud.clock_.advance(cloud.boot_s)
    running = await adapter.get_instance(created.instance_id)
    ssh = await adapter.ssh_info(created.instance_id)
    assert running.status is InstanceStatus.RUNNING and ssh.port == running.ports[22] != 22
    assert (ssh.host, ssh.user) == (running.public_ip, "root")
    await adapter.stop(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.STOPPING
    cloud.clock_.advance(2)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.STOPPED
    await adapter.start(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.STARTING
    cloud.clock_.advance(cloud.boot_s)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.RUNNING
    await adapter.terminate(created.instance_id)
    with pytest.raises(NotFound):
        await adapter.get_instance(created.instance_id)
    await adapter.terminate(created.instance_id)  # gone already: still a success


async def test_starting_a_running_instance_is_a_provider_error(adapter):
    created = await adapter.create_instance(spec())
    with pytest.raises(ProviderError, match="must be stopped"):
        await adapter.start(created.instance_id)


async def test_the_tag_round_trips_so_a_lost_create_is_adopted(adapter):
    wanted = spec()
    created = await adapter.create_instance(wanted)
    await adapter.create_instance(spec())
    adopted = await adapter.list_instances(tag=wanted.tag)
    assert [i.instance_id for i in adopted] == [created.instance_id]
    assert adopted[0].ports == {22: created.ports[22]}


@pytest.mark.parametrize("offer_id", [f"{DALLAS}:l40-pcie-48gb:1:8:32", f"{CHUBBUCK}:geforcertx4090-pcie-24gb:8:32:128"])
async def test_more_gpus_than_free_is_a_capacity_error(adapter, offer_id):
    with pytest.raises(CapacityError):
        await adapter.create_instance(spec(offer_id))


async def test_capacity_fault_is_a_capacity_error(adapter, cloud):
    cloud.faults.capacity_error = True
    with pytest.raises(CapacityError):
        await adapter.create_instance(spec())


async def test_missing_ssh_key_is_refused_readably(adapter):
    with pytest.raises(ProviderError, match="ssh_key"):
        await adapter.create_instance(spec(ssh_public_key=None))
