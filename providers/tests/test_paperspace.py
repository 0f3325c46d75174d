"""Paperspace adapter against the Paperspace sandbox over loopback."""

import asyncio
import uuid

import pytest

from providers.adapters import paperspace_prices as catalog
from providers.adapters.base import (AuthError, CapacityError, InstanceSpec, InstanceStatus, NotFound, NotSupported,
                                     ProviderError, ProviderUnavailable, RateLimited)
from providers.adapters.paperspace import PaperspaceAdapter, startup_script
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture, sandbox_adapter

KEY = "sbx-test-key-0003"


cloud = cloud_fixture("paperspace", boot_s=0.3)
adapter = adapter_fixture(PaperspaceAdapter, KEY, base_delay=0.001, max_delay=0.01)


def spec(offer_id="A6000@East Coast (NY2)", **kw):
    return InstanceSpec(deployment_id=uuid.uuid4(), name="demo", offer_id=offer_id, image="nginx:1.27",
                        ports=(8080,), ssh_public_key="ssh-ed25519 AAAA me", **kw)


def available_offer_id(cloud):
    return next(f"{m.label}@{r}" for m in catalog.MACHINE_TYPES for r in m.regions if cloud.is_available(m.label, r))


async def wait_for(adapter, instance_id, status, timeout=5.0):
    for _ in range(int(timeout / 0.05)):
        instance = await adapter.get_instance(instance_id)
        if instance.status == status:
            return instance
        await asyncio.sleep(0.05)
    raise AssertionError(f"{instance_id} never became {status}; last {instance.raw_status}")


async def test_offers_are_table_prices_for_available_pairs_only(adapter, cloud):
    offers = {offer.offer_id: offer for offer in await adapter.list_offers()}
    expected = {f"{m.label}@{r}": m for m in catalog.MACHINE_TYPES for r in m.regions if cloud.is_available(m.label, r)}
    assert set(offers) == set(expected) and 0 < len(offers) < sum(len(m.regions) for m in catalog.MACHINE_TYPES)
    for offer_id, machine in expected.items():
        offer = offers[offer_id]
        assert offer.price_per_hour == machine.price_per_hour and offer.gpu_count == machine.gpu_count
        assert offer.vram_gb_per_gpu == machine.vram_gb and offer.region == offer_id.split("@")[1]
    h100 = [o for o in offers.values() if o.raw["machineType"] == "H100x8"]
    assert all(o.gpu_model == "h100-sxm" and o.price_per_gpu_hour == pytest.approx(5.95) for o in h100)


async def test_out_of_capacity_means_no_offers_and_capacity_error_on_create(adapter, cloud):
    cloud.faults.capacity_error = True
    assert await adapter.list_offers() == []
    with pytest.raises(CapacityError, match="Out of capacity"):
        await adapter.create_instance(spec())


async def test_capabilities_and_reasons(adapter):
    caps = PaperspaceAdapter.capabilities
    assert caps.stop_start and caps.restart and caps.ssh and not caps.spot and not caps.logs
    with pytest.raises(NotSupported, match="no spot"):
        await adapter.create_instance(spec(spot=True))
    with pytest.raises(NotSupported, match="machine logs"):
        await adapter.fetch_logs("x")


async def test_good_and_bad_key(sandbox, adapter):
    await adapter.validate_credential()
    async with sandbox_adapter(sandbox, PaperspaceAdapter, "wrong-secret-key") as bad:
        with pytest.raises(AuthError) as caught:
            await bad.validate_credential()
    assert "Invalid API key" in str(caught.value) and "wrong-secret-key" not in str(caught.value)


async def test_lifecycle_stop_start_restart_terminate(adapter, cloud):
    created = await adapter.create_instance(spec(available_offer_id(cloud)))
    assert created.status == InstanceStatus.PROVISIONING and created.tag.startswith("ch-")
    ready = await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)
    assert ready.public_ip and (await adapter.ssh_info(created.instance_id)).command == f"ssh -p 22 paperspace@{ready.public_ip}"
    await adapter.stop(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status == InstanceStatus.STOPPING
    await wait_for(adapter, created.instance_id, InstanceStatus.STOPPED)
    await adapter.start(created.instance_id)
    await adapter.start(created.instance_id)  # "currently starting" is success, not an error
    await wait_for(adapter, created.instance_id, InstanceStatus.RUNNING)
    await adapter.restart(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).raw_status == "restarting"
    await adapter.terminate(created.instance_id)
    await adapter.terminate(created.instance_id)  # idempotent
    with pytest.raises(NotFound, match="Machine not found"):
        await adapter.get_instance(created.instance_id)


async def test_adoption_by_tag_across_pages(adapter, cloud):
    offer_id = available_offer_id(cloud)
    specs = [spec(offer_id) for _ in range(PAGE + 3)]
    for each in specs:
        await adapter.create_instance(each)
    found = await adapter.list_instances(tag=specs[-1].tag)
    assert [i.tag for i in found] == [specs[-1].tag]
    assert len(await adapter.list_instances()) == len(specs)


PAGE = 50


async def test_startup_script_quotes_user_values():
    script = startup_script(spec(env={"TOKEN": "a b; rm -rf /"}, command=("python", "-c", "print('x')")))
    assert "'TOKEN=a b; rm -rf /'" in script and "nginx:1.27" in script and "-p 8080:8080" in script


async def test_rate_limit_with_and_without_retry_after(adapter, cloud, monkeypatch):
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as caught:
        await adapter.validate_credential()
    assert caught.value.retry_after is None and cloud.calls == PaperspaceAdapter.max_attempts
    monkeypatch.setattr(cloud, "retry_after", "7")
    with pytest.raises(RateLimited) as caught:
        await adapter.validate_credential()
    assert caught.value.retry_after == 7.0
    cloud.faults.rate_limit_every = 2  # every other call refused: retries get through
    await adapter.validate_credential()


@pytest.mark.parametrize("garbage", ["html", "truncated", "missing_fields"])
async def test_garbage_is_a_readable_provider_error(adapter, cloud, garbage):
    cloud.faults.garbage = garbage
    with pytest.raises(ProviderError, match="Unexpected provider answer"):
        await adapter.list_offers()


async def test_outage_is_provider_unavailable(adapter, cloud):
    cloud.faults.outage = True
    with pytest.raises(ProviderUnavailable):
        await adapter.list_offers()


async def test_error_body_becomes_readable_provider_error(adapter):
    with pytest.raises(ProviderError, match="BAD_REQUEST: Missing required fields: templateId"):
        await adapter._request("POST", "/machines", json={"name": "x", "machineType": "A6000", "diskSize": 50,
                                                          "region": "East Coast (NY2)"})
