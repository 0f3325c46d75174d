"""Akash Console API adapter against the Akash sandbox over loopback."""

import asyncio
import uuid

import pytest

from providers.adapters.akash import AkashAdapter, usd_per_hour
from providers.adapters.base import (AuthError, CapacityError, InstanceSpec, InstanceStatus, NotSupported,
                                     ProviderError, ProviderUnavailable, RateLimited)
from providers.sandbox.akash import MARKET, PROVIDERS
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture, sandbox_adapter

KEY = "sbx-test-key-0003"
H100 = "nvidia:h100:80Gi:SXM5"


cloud = cloud_fixture("akash", boot_s=0.3, bid_delay_s=0.2)
adapter = adapter_fixture(AkashAdapter, KEY, base_delay=0.001, max_delay=0.01, bid_poll_s=0.05, bid_wait_s=1.0)


def spec(offer_id=H100, **kw):
    return InstanceSpec(deployment_id=uuid.uuid4(), name="demo", offer_id=offer_id, image="vllm/vllm-openai:v0.6",
                        ports=(8000,), env={"HF_TOKEN": "hf_x"}, **kw)


def test_block_price_conversion():
    # 100 uact per block = 100e-6 USD × (3600 / 6.098) blocks per hour
    assert usd_per_hour({"denom": "uact", "amount": "100"}) == pytest.approx(0.059036, abs=1e-4)
    assert usd_per_hour({"denom": "uakt", "amount": "100"}) is None  # needs an AKT quote


async def test_offers_are_usd_per_gpu_hour_from_market_summary(adapter, cloud):
    offers = {o.offer_id: o for o in await adapter.list_offers()}
    priced = [row for row in MARKET if row[6] is not None]
    assert len(offers) == len(priced)  # the model with no price (no recent bids) is skipped
    h100 = offers[H100]
    assert h100.price_per_hour == pytest.approx(cloud.market_price("h100", "80Gi"), abs=1e-4)
    assert h100.gpu_count == 1 and h100.vram_gb_per_gpu == 80 and h100.available == 24
    assert h100.gpu_model == "h100-sxm" and offers["nvidia:rtx4090:24Gi:PCIe"].gpu_model == "rtx-4090"


async def test_capabilities_are_honest(adapter):
    caps = AkashAdapter.capabilities
    assert not (caps.stop_start or caps.restart or caps.spot or caps.logs or caps.ssh)
    with pytest.raises(NotSupported, match="Akash cannot restart a lease; close it and deploy again"):
        await adapter.restart("1")
    with pytest.raises(NotSupported):
        await adapter.stop("1")
    with pytest.raises(NotSupported, match="no spot"):
        await adapter.create_instance(spec(spot=True))


async def test_good_and_bad_key_use_x_api_key(sandbox, adapter):
    await adapter.validate_credential()
    async with sandbox_adapter(sandbox, AkashAdapter, "not-a-sandbox-key") as bad:
        with pytest.raises(AuthError) as caught:
            await bad.validate_credential()
    assert "not-a-sandbox-key" not in str(caught.value)


async def test_create_leases_cheapest_bid_then_runs_and_closes(adapter, cloud):
    the_spec = spec()
    instance = await adapter.create_instance(the_spec)
    deployment = cloud.instances[instance.instance_id]
    cheapest = min(PROVIDERS, key=lambda p: float(cloud.bid_amount(deployment, p)))
    assert deployment.extra["lease"]["provider"] == cheapest
    assert instance.status == InstanceStatus.PROVISIONING and instance.tag == the_spec.tag
    assert instance.price_per_hour == usd_per_hour({"denom": "uact", "amount": cloud.bid_amount(deployment, cheapest)})
    await asyncio.sleep(0.35)
    running = await adapter.get_instance(instance.instance_id)
    assert running.status == InstanceStatus.RUNNING and running.ports == {8000: 30000} and running.public_ip
    assert [i.instance_id for i in await adapter.list_instances(tag=the_spec.tag)] == [instance.instance_id]
    await adapter.terminate(instance.instance_id)
    await adapter.terminate(instance.instance_id)  # already closed: fine
    closed = await adapter.get_instance(instance.instance_id)
    assert closed.status == InstanceStatus.TERMINATED and closed.raw_status == "deployment=closed lease=closed"


async def test_no_bids_is_capacity_error_and_closes_the_deployment(adapter, cloud):
    cloud.faults.capacity_error = True
    with pytest.raises(CapacityError, match="No Akash provider bid"):
        await adapter.create_instance(spec())
    assert [d.state for d in cloud.instances.values()] == ["terminated"]  # escrow not left open


async def test_lease_lost_under_active_deployment_is_failed(adapter, cloud):
    instance = await adapter.create_instance(spec())
    cloud.instances[instance.instance_id].extra["lease"]["provider"] = "gone"
    data = cloud.render(cloud.instances[instance.instance_id])
    data["leases"][0]["state"] = "closed"
    assert adapter._parse(data).status == InstanceStatus.FAILED


async def test_rate_limit_with_and_without_retry_after(adapter, cloud, monkeypatch):
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as caught:
        await adapter.list_offers()
    assert caught.value.retry_after == 1.0
    monkeypatch.setattr(cloud, "retry_after", None)
    with pytest.raises(RateLimited) as caught:
        await adapter.list_offers()
    assert caught.value.retry_after is None


@pytest.mark.parametrize("garbage", ["html", "truncated", "missing_fields"])
async def test_garbage_is_a_readable_provider_error(adapter, cloud, garbage):
    cloud.faults.garbage = garbage
    with pytest.raises(ProviderError, match="Unexpected provider answer: gpu-prices"):
        await adapter.list_offers()


async def test_outage_is_provider_unavailable(adapter, cloud):
    cloud.faults.outage = True
    with pytest.raises(ProviderUnavailable):
        await adapter.get_instance("24000001")


async def test_sdl_names_the_gpu_and_price_cap(adapter):
    import yaml
    sdl = yaml.safe_load(adapter.sdl(spec()))
    gpu = sdl["profiles"]["compute"]["app"]["gpu"]["attributes"]["vendor"]["nvidia"][0]
    assert gpu == {"model": "h100", "ram": "80Gi", "interface": "sxm"}
    assert sdl["services"]["app"]["expose"][0]["port"] == 8000
    cap = sdl["profiles"]["placement"]["dcloud"]["pricing"]["app"]
    assert usd_per_hour(cap) == pytest.approx(AkashAdapter.max_usd_per_gpu_hour)
