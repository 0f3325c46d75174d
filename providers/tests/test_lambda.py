"""Lambda Cloud adapter against the Lambda sandbox over loopback (reference/providers.md §3)."""

import uuid

import httpx
import pytest

from providers.adapters.base import (AuthError, CapacityError, InstanceSpec, InstanceStatus, NotFound, NotSupported,
                                     ProviderError, ProviderUnavailable, RateLimited)
from providers.adapters.lambda_cloud import LambdaAdapter
from providers.sandbox.lambda_cloud import CATALOG, LINGER_S
from providers.tests.adapter_helpers import adapter_fixture, cloud_fixture, sandbox_adapter

KEY = "sbx-test-key-0002"
FAST = (1e6, 1000)  # the limiter out of the way; the spacing test uses the real limits


# the Lambda sandbox on a clock the test moves (boots and drift without waiting)
cloud = cloud_fixture("lambda", clock_at=1_750_000_000.0)
adapter = adapter_fixture(LambdaAdapter, KEY, rate=FAST, scopes=("launch",))


def make_adapter(sandbox, key=KEY):
    return sandbox_adapter(sandbox, LambdaAdapter, key)


def spec(offer_id="gpu_1x_h100_pcie@us-west-3", **extra):
    return InstanceSpec(deployment_id=uuid.uuid4(), name="train", offer_id=offer_id, image="ubuntu", **extra)


# --- offers ----------------------------------------------------------------------------------------


async def test_offers_are_dollars_per_instance_hour_per_region_with_capacity(adapter, cloud):
    offers = {offer.offer_id: offer for offer in await adapter.list_offers()}
    h100 = offers["gpu_8x_h100_sxm5@us-south-1"]
    assert h100.price_per_hour == cloud.type_row("gpu_8x_h100_sxm5")["price_cents_per_hour"] / 100
    assert 23.92 * 0.9 < h100.price_per_hour < 23.92 * 1.1 and h100.gpu_count == 8
    assert (h100.gpu_model, h100.vram_gb_per_gpu, h100.vcpus, h100.ram_gb, h100.available) == ("h100-sxm", 80, 208, 1800, 1)
    assert {o.region for o in offers.values() if o.offer_id.startswith("gpu_1x_a10@")} == {
        "us-east-1", "us-west-1", "asia-northeast-1"}
    assert len(offers) == sum(max(1, len(entry[6])) for entry in CATALOG.values())


async def test_vram_from_the_description_tells_a100_40_from_80_and_sold_out_types_still_show(adapter):
    offers = {offer.offer_id: offer for offer in await adapter.list_offers()}
    assert offers["gpu_1x_a100_sxm4@us-east-1"].gpu_model == "a100-40gb"
    assert offers["gpu_8x_a100_80gb_sxm4@us-west-3"].gpu_model == "a100-80gb"
    assert offers["gpu_8x_v100@europe-central-1"].gpu_model == "v100-16gb"
    sold_out = offers["gpu_8x_b200_sxm6@"]
    assert (sold_out.region, sold_out.available, sold_out.gpu_model) == ("", 0, "b200")


async def test_prices_follow_the_sandbox_drift(adapter, cloud):
    before = {o.offer_id: o.price_per_hour for o in await adapter.list_offers()}
    cloud.clock_.advance(3 * 3600)
    after = {o.offer_id: o.price_per_hour for o in await adapter.list_offers()}
    assert before.keys() == after.keys() and before != after


@pytest.mark.parametrize("garbage", ["html", "truncated", "missing_fields"])
async def test_garbage_offer_listings_are_a_readable_provider_error(adapter, cloud, garbage):
    cloud.faults.garbage = garbage
    with pytest.raises(ProviderError) as caught:
        await adapter.list_offers()
    assert "Lambda Cloud" in str(caught.value) and KEY not in str(caught.value)


# --- errors ----------------------------------------------------------------------------------------


def lambda_error(status, code, **headers):
    body = {"error": {"code": code, "message": "Something; use key sbx-test-key-0002", "suggestion": "x"}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(("status", "code", "expected"), [
    (401, "global/invalid-api-key", AuthError),
    (403, "global/account-inactive", AuthError),
    (404, "global/object-does-not-exist", NotFound),
    (400, "instance-operations/launch/insufficient-capacity", CapacityError),
    (400, "global/quota-exceeded", CapacityError),
    (400, "global/invalid-parameters", ProviderError),
    (502, "provider/internal-unavailable", ProviderUnavailable),
    (500, "global/unknown", ProviderUnavailable),
    (200, "global/unknown", type(None)),
])
def test_classify_branches_on_the_error_code(status, code, expected):
    error = LambdaAdapter(KEY)._classify(lambda_error(status, code))
    assert type(error) is expected


def test_classify_ignores_message_text_that_looks_like_another_error():
    response = httpx.Response(400, json={"error": {"code": "global/invalid-parameters",
                                                   "message": "Not enough capacity; invalid api key"}})
    assert type(LambdaAdapter(KEY)._classify(response)) is ProviderError


async def test_outage_is_provider_unavailable(adapter, cloud):
    cloud.faults.outage = True
    with pytest.raises(ProviderUnavailable):
        await adapter.list_offers()


async def test_429_without_retry_after_backs_off_then_raises_rate_limited(adapter, cloud):
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as caught:
        await adapter.list_instances()
    assert caught.value.retry_after is None and len(adapter.slept) == adapter.max_attempts - 1


async def test_429_with_retry_after_waits_that_long(adapter, cloud, monkeypatch):
    monkeypatch.setattr(cloud, "retry_after", "7")
    cloud.faults.rate_limit_every = 1
    with pytest.raises(RateLimited) as caught:
        await adapter.list_instances()
    assert caught.value.retry_after == 7 and adapter.slept == [7, 7, 7]


async def test_a_single_429_is_retried_transparently(adapter, cloud):
    cloud.faults.rate_limit_every = 2  # the second call is refused, the third answers
    await adapter.validate_credential()
    assert await adapter.list_instances() == [] and len(adapter.slept) == 1


# --- credential and capabilities -------------------------------------------------------------------


async def test_good_key_is_accepted_and_a_bad_one_is_an_auth_error_without_the_key(adapter, sandbox):
    await adapter.validate_credential()
    async with make_adapter(sandbox, key="live-key-0123456789") as bad:
        with pytest.raises(AuthError) as caught:
            await bad.validate_credential()
    assert "live-key-0123456789" not in str(caught.value) and "invalid" in str(caught.value).lower()


async def test_capabilities_are_honest_and_stop_explains_why(adapter):
    caps = LambdaAdapter.capabilities
    assert (caps.restart, caps.stop_start, caps.spot, caps.ssh, caps.logs) == (True, False, False, True, False)
    for action in (adapter.stop, adapter.start):
        with pytest.raises(NotSupported) as caught:
            await action("whatever")
        assert "until they are terminated" in caught.value.reason
    with pytest.raises(NotSupported):
        await adapter.create_instance(spec(spot=True))


# --- lifecycle -------------------------------------------------------------------------------------


async def test_launch_boot_restart_terminate(adapter, cloud):
    created = await adapter.create_instance(spec())
    assert (created.status, created.raw_status, created.public_ip) == (InstanceStatus.PROVISIONING, "booting", None)
    cloud.clock_.advance(cloud.boot_s)
    running = await adapter.get_instance(created.instance_id)
    assert running.status is InstanceStatus.RUNNING and running.price_per_hour > 2
    ssh = await adapter.ssh_info(created.instance_id)
    assert (ssh.host, ssh.port, ssh.user) == (running.public_ip, 22, "ubuntu")
    await adapter.restart(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).raw_status == "booting"
    cloud.clock_.advance(cloud.boot_s)
    await adapter.terminate(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.TERMINATING
    cloud.clock_.advance(2)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.TERMINATED
    cloud.clock_.advance(LINGER_S)
    with pytest.raises(NotFound):
        await adapter.get_instance(created.instance_id)
    await adapter.terminate(created.instance_id)  # gone already: still a success


async def test_unhealthy_is_failed_and_restart_brings_it_back(adapter, cloud):
    created = await adapter.create_instance(spec())
    cloud.clock_.advance(cloud.boot_s)
    cloud.make_unhealthy(created.instance_id)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.FAILED
    await adapter.restart(created.instance_id)
    cloud.clock_.advance(cloud.boot_s)
    assert (await adapter.get_instance(created.instance_id)).status is InstanceStatus.RUNNING


async def test_ssh_info_before_boot_is_a_clear_error(adapter):
    created = await adapter.create_instance(spec())
    with pytest.raises(ProviderError, match="no public IP yet"):
        await adapter.ssh_info(created.instance_id)


async def test_the_tag_round_trips_so_a_lost_launch_is_adopted(adapter):
    wanted, other = spec(), spec()
    created = await adapter.create_instance(wanted)
    await adapter.create_instance(other)
    adopted = await adapter.list_instances(tag=wanted.tag)
    assert [i.instance_id for i in adopted] == [created.instance_id] and adopted[0].tag == wanted.tag
    assert len(await adapter.list_instances()) == 2


async def test_the_deployment_ssh_key_is_uploaded_once_and_used(adapter, cloud):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeploymentKey me@host"
    first = await adapter.create_instance(spec(ssh_public_key=key))
    await adapter.create_instance(spec(ssh_public_key=key))
    names = [k["name"] for k in cloud.ssh_keys[KEY]]
    assert len(names) == 2 and first.raw["ssh_key_names"] == [names[1]] and names[1].startswith("computehub-")


@pytest.mark.parametrize("offer_id", ["gpu_1x_a100_sxm4@us-south-1", "gpu_8x_b200_sxm6@"])
async def test_no_capacity_in_the_region_is_a_capacity_error(adapter, offer_id):
    with pytest.raises(CapacityError):
        await adapter.create_instance(spec(offer_id))


async def test_capacity_fault_is_a_capacity_error(adapter, cloud):
    cloud.faults.capacity_error = True
    with pytest.raises(CapacityError) as caught:
        await adapter.create_instance(spec())
    assert "capacity" in str(caught.value).lower()


async def test_launches_are_spaced_twelve_seconds_apart_by_the_limiter(sandbox, cloud, monkeypatch):
    """The real class limits, with the limiters' sleeps recorded instead of slept."""
    adapter = make_adapter(sandbox, key=f"sbx-limiter-{uuid.uuid4().hex}")  # fresh buckets
    launch, general = adapter._limiters("launch")
    waits = {"launch": [], "general": []}
    for name, limiter in (("launch", launch), ("general", general)):
        async def record(seconds, name=name):
            waits[name].append(seconds)
        monkeypatch.setattr(limiter, "_sleep", record)
    async with adapter:
        await adapter.create_instance(spec())
        await adapter.create_instance(spec())
    assert (launch.rate, launch.burst) == (1 / 12, 1)
    assert len(waits["launch"]) == 1 and waits["launch"][0] == pytest.approx(12, abs=0.5)
    assert all(wait <= 1.0 * 6 for wait in waits["general"])  # ~1/s overall, never the launch pace
