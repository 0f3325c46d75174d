"""Adapters against the reference payloads of reference/providers.md (fixtures independent of the
sandbox, so a unit error shared by an adapter and its sandbox is still caught), and the one
error rule: a malformed or unknown offer id is NotFound, an answer missing fields a ProviderError."""

import json
import time
import uuid

import httpx
import pytest

from computehub import http
from providers.adapters.akash import AkashAdapter, _forwarded
from providers.adapters.base import InstanceSpec, InstanceStatus, NotFound, Offer, ProviderError
from providers.adapters.lambda_cloud import LambdaAdapter
from providers.adapters.paperspace import PaperspaceAdapter
from providers.adapters.parsing import docker_run_command, num
from providers.adapters.runpod import RunPodAdapter
from providers.adapters.tensordock import TensorDockAdapter
from providers.adapters.vast import VastAdapter

KEY = "ref-test-key-0001"

# providers.md §1.9 (GraphQL gpuTypes, secure cloud, 1 GPU)
RUNPOD_GPU_TYPES = {"data": {"gpuTypes": [{
    "id": "NVIDIA GeForce RTX 4090", "displayName": "RTX 4090", "manufacturer": "Nvidia", "memoryInGb": 24,
    "maxGpuCount": 8, "secureCloud": True, "communityCloud": True, "securePrice": 0.69, "communityPrice": 0.34,
    "secureSpotPrice": 0.35, "communitySpotPrice": 0.2, "oneWeekPrice": 0.66, "oneMonthPrice": 0.62,
    "threeMonthPrice": 0.59, "sixMonthPrice": 0.55,
    "lowestPrice": {"minimumBidPrice": 0.35, "uninterruptablePrice": 0.69, "minVcpu": 6, "minMemory": 41,
                    "stockStatus": "High", "availableGpuCounts": [1, 2, 4, 8], "countryCode": "US",
                    "compliance": None}}]}}
# §1.9 "Get status (GraphQL pod), running", with and without the port-22 mapping
RUNPOD_POD = {"id": "50qynxzilsxoey", "name": "agg-job-42", "desiredStatus": "RUNNING", "costPerHr": 0.69,
              "gpuCount": 1, "imageName": "runpod/pytorch:2.8.0-py3.11-cuda12.8.1", "machineId": "hpvdausak8xb",
              "machine": {"gpuDisplayName": "RTX 4090", "podHostId": "50qynxzilsxoey-64410065"},
              "runtime": {"uptimeInSeconds": 131,
                          "ports": [{"ip": "195.26.233.3", "isIpPublic": True, "privatePort": 22,
                                     "publicPort": 34446, "type": "tcp"}],
                          "gpus": [{"id": "GPU-e0488b7e", "gpuUtilPercent": 0, "memoryUtilPercent": 1}],
                          "container": {"cpuPercent": 2, "memoryPercent": 3}}}
# §2.8
VAST_OFFERS = {"offers": [{
    "id": 23745812, "ask_contract_id": 23745812, "bundle_id": 612345678, "machine_id": 31337, "host_id": 55555,
    "gpu_name": "RTX 4090", "num_gpus": 1, "gpu_ram": 24564, "gpu_total_ram": 24564, "gpu_arch": "nvidia",
    "compute_cap": 890, "cuda_max_good": 12.8, "cpu_cores": 32, "cpu_cores_effective": 8.0, "cpu_ram": 128658,
    "disk_space": 120.5, "inet_down": 850.1, "inet_up": 790.4, "dph_base": 0.32, "dph_total": 0.3367,
    "min_bid": 0.21, "storage_cost": 0.15, "is_bid": False, "geolocation": "Texas, US", "reliability2": 0.9962,
    "verification": "verified", "rentable": True, "rented": False, "static_ip": True, "direct_port_count": 100,
    "public_ipaddr": "203.0.113.42", "search": {"gpuCostPerHour": 0.32, "diskHour": 0.0167, "totalHour": 0.3367}}]}
VAST_INSTANCE = {"id": 28999001, "label": "agg-job-42", "actual_status": "running", "intended_status": "running",
                 "cur_state": "running", "gpu_name": "RTX 4090", "num_gpus": 1, "dph_total": 0.3367,
                 "is_bid": False, "ssh_host": "ssh5.vast.ai", "ssh_port": 19000, "public_ipaddr": "203.0.113.42",
                 "ports": {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "40122"}],
                           "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "40180"}]},
                 "start_date": 1786000000.12}
# §3.6
LAMBDA_TYPES = {"data": {
    "gpu_1x_h100_pcie": {"instance_type": {
        "name": "gpu_1x_h100_pcie", "description": "1x H100 (80 GB PCIe)", "gpu_description": "H100 (80 GB PCIe)",
        "price_cents_per_hour": 249, "specs": {"vcpus": 26, "memory_gib": 200, "storage_gib": 1024, "gpus": 1}},
        "regions_with_capacity_available": [{"name": "us-west-3", "description": "Utah, USA"}]},
    "gpu_8x_a100_80gb_sxm4": {"instance_type": {
        "name": "gpu_8x_a100_80gb_sxm4", "description": "8x A100 (80 GB SXM4)", "gpu_description": "A100 (80 GB SXM4)",
        "price_cents_per_hour": 1432, "specs": {"vcpus": 240, "memory_gib": 1800, "storage_gib": 19456, "gpus": 8}},
        "regions_with_capacity_available": []}}}


@pytest.fixture(autouse=True)
def fresh_limiters(monkeypatch):
    monkeypatch.setattr(http, "_limiters", {})


def adapter_for(cls, answer, **attrs):
    """`answer(request) -> (status, body)`; the adapter never sleeps for real."""
    def handler(request):
        status, body = answer(request)
        return httpx.Response(status, json=body)
    adapter = cls(KEY, transport=httpx.MockTransport(handler))
    adapter.slept = []

    async def no_wait(seconds):
        adapter.slept.append(seconds)
    adapter._sleep = no_wait
    for name, value in attrs.items():
        setattr(adapter, name, value)
    return adapter


def spec(offer_id, **extra):
    return InstanceSpec(deployment_id=uuid.uuid4(), name="t", offer_id=offer_id, image="img", **extra)


def graphql(answers):
    """RunPod: the answer for the first query name found in the request body."""
    def answer(request):
        query = json.loads(request.content)["query"]
        return 200, next(body for name, body in answers.items() if name in query)
    return answer


# --- RunPod ------------------------------------------------------------------------------------------


async def test_runpod_prices_are_the_documented_per_gpu_fields_times_the_count():
    adapter = adapter_for(RunPodAdapter, graphql({"GpuTypes": RUNPOD_GPU_TYPES}))
    offers = {(o.offer_id, o.spot): o for o in await adapter._offers_for("SECURE", True, 4)}
    on_demand, spot = offers[("SECURE|4|NVIDIA GeForce RTX 4090", False)], offers[("SECURE|4|NVIDIA GeForce RTX 4090", True)]
    assert on_demand.price_per_hour == pytest.approx(0.69 * 4) and on_demand.gpu_count == 4
    assert on_demand.price_per_gpu_hour == pytest.approx(0.69) and on_demand.vram_gb_per_gpu == 24.0
    assert spot.min_bid_per_hour == pytest.approx(0.35 * 4)
    community = await adapter._offers_for("COMMUNITY", False, 2)
    assert [o.price_per_hour for o in community if not o.spot] == [pytest.approx(0.34 * 2)]


async def test_runpod_pod_with_a_runtime_is_running_even_without_ssh():
    no_ssh = {**RUNPOD_POD, "runtime": {**RUNPOD_POD["runtime"], "ports": []}}
    adapter = adapter_for(RunPodAdapter, graphql({"query Pod(": {"data": {"pod": no_ssh}}}))
    instance = await adapter.get_instance("50qynxzilsxoey")
    assert instance.status is InstanceStatus.RUNNING and instance.ssh_host is None
    with pytest.raises(NotFound, match="maps no port 22"):
        await adapter.ssh_info("50qynxzilsxoey")


async def test_runpod_reference_pod_is_running_with_ssh_and_provisioning_without_runtime():
    adapter = adapter_for(RunPodAdapter, graphql({"query Pod(": {"data": {"pod": RUNPOD_POD}}}))
    assert (await adapter.ssh_info("x")).command == "ssh -p 34446 root@195.26.233.3"
    booting = adapter_for(RunPodAdapter, graphql({"query Pod(": {"data": {"pod": {**RUNPOD_POD, "runtime": None}}}}))
    assert (await booting.get_instance("x")).status is InstanceStatus.PROVISIONING


# --- Vast.ai -----------------------------------------------------------------------------------------


async def test_vast_reference_offer_units():
    adapter = adapter_for(VastAdapter, lambda request: (200, VAST_OFFERS))
    on_demand, spot = await adapter.list_offers()
    assert on_demand.vram_gb_per_gpu == 24.0  # gpu_ram is MB
    assert on_demand.ram_gb == round(128658 * 8 / 32 / 1024, 1)  # host MB, this slice's share of cores
    assert on_demand.price_per_hour == 0.3367 and on_demand.price_per_gpu_hour == 0.3367  # dph_total: whole offer
    assert spot.spot and spot.min_bid_per_hour == 0.21  # per machine, not per GPU
    assert spot.price_per_hour == pytest.approx(0.21 + (0.3367 - 0.32))  # bid + the same storage cost


@pytest.mark.parametrize("offer_id", ["abc", "12; rm", "../1", ""])
async def test_vast_malformed_offer_id_is_not_found_and_never_sent(offer_id):
    seen = []
    adapter = adapter_for(VastAdapter, lambda request: (seen.append(request), (200, {}))[1])
    with pytest.raises(NotFound, match="not a Vast.ai offer id"):
        await adapter.create_instance(spec(offer_id))
    with pytest.raises(NotFound):
        await adapter.create_instance(spec(offer_id, spot=True))
    assert seen == []


async def test_vast_without_ssh_port_uses_the_direct_mapping_or_explains():
    direct = {**VAST_INSTANCE, "ssh_host": None, "ssh_port": None}
    adapter = adapter_for(VastAdapter, lambda request: (200, {"instances": direct}))
    info = await adapter.ssh_info("28999001")
    assert (info.host, info.port, info.user) == ("203.0.113.42", 40122, "root")
    nothing = {**direct, "ports": None}
    adapter = adapter_for(VastAdapter, lambda request: (200, {"instances": nothing}))
    with pytest.raises(NotFound, match="reports no SSH port"):
        await adapter.ssh_info("28999001")
    proxy_host_only = {**VAST_INSTANCE, "ssh_port": None, "ports": None}
    adapter = adapter_for(VastAdapter, lambda request: (200, {"instances": proxy_host_only}))
    with pytest.raises(NotFound, match="reports no SSH port"):
        await adapter.ssh_info("28999001")


async def test_vast_instance_missing_fields_is_a_provider_error():
    adapter = adapter_for(VastAdapter, lambda request: (200, {"instances": {"actual_status": "running"}}))
    with pytest.raises(ProviderError, match="missing or has malformed fields"):
        await adapter.get_instance("1")


# --- Lambda ------------------------------------------------------------------------------------------


async def test_lambda_reference_offers_price_cents_per_hour():
    adapter = adapter_for(LambdaAdapter, lambda request: (200, LAMBDA_TYPES))
    offers = {o.offer_id: o for o in await adapter.list_offers()}
    h100 = offers["gpu_1x_h100_pcie@us-west-3"]
    assert h100.price_per_hour == 2.49 and h100.gpu_count == 1 and h100.available
    a100 = next(o for o in offers.values() if o.offer_id.startswith("gpu_8x_a100"))
    assert a100.price_per_hour == 14.32 and a100.gpu_count == 8 and a100.price_per_gpu_hour == pytest.approx(1.79)
    assert not a100.available and a100.ram_gb == 1800


# --- Paperspace, TensorDock: offer ids --------------------------------------------------------------


@pytest.mark.parametrize(("cls", "offer_id"), [(PaperspaceAdapter, "nonsense"), (PaperspaceAdapter, "A100@"),
                                               (TensorDockAdapter, "loc:gpu:x:8:32"), (TensorDockAdapter, "nope"),
                                               (RunPodAdapter, "SECURE|x|gpu")])
async def test_malformed_offer_ids_are_not_found_everywhere(cls, offer_id):
    adapter = adapter_for(cls, lambda request: (500, {}))
    with pytest.raises(NotFound):
        await adapter.create_instance(spec(offer_id))


# --- Akash -------------------------------------------------------------------------------------------


def test_akash_forwarded_ports_null_means_none():
    assert _forwarded({"status": {"forwarded_ports": None}}) == (None, {})
    assert _forwarded({"status": None}) == (None, {})


async def test_akash_bid_polling_uses_the_adapters_sleep():
    calls = []

    def answer(request):
        calls.append(request)
        bid = {"bid": {"id": {"provider": "akash1p", "gseq": 1, "oseq": 1}, "state": "open", "price": {}}}
        return 200, {"data": [bid] if len(calls) >= 3 else []}
    adapter = adapter_for(AkashAdapter, answer, bid_poll_s=30.0, bid_wait_s=600.0)
    started = time.monotonic()
    bids = await adapter._wait_for_bids("42")
    assert len(bids) == 1 and adapter.slept == [30.0, 30.0] and time.monotonic() - started < 5


async def test_akash_deployment_missing_fields_is_a_provider_error():
    body = {"data": {"deployment": {"id": {"dseq": "7"}, "state": "active"},
                     "leases": [{"state": "active", "status": {"forwarded_ports": {"web": [{"host": "h"}]}}}]}}
    adapter = adapter_for(AkashAdapter, lambda request: (200, body))
    with pytest.raises(ProviderError, match="missing or has malformed fields"):
        await adapter.get_instance("7")


# --- shared helpers and the Offer rule ---------------------------------------------------------------


def test_num_and_docker_helpers():
    assert (num("1.5"), num(None), num("x"), num([1])) == (1.5, None, None, None)
    the_spec = spec("o", command=("python", "-c", "print('a b')"), env={"T": "x y"}, ports=(8080,))
    line = docker_run_command(the_spec, name="ch-1")
    assert line.startswith("docker run -d --restart unless-stopped --gpus all --name ch-1 -e 'T=x y' -p 8080:8080 img")
    assert line.endswith("""python -c 'print('"'"'a b'"'"')'""")


@pytest.mark.parametrize(("count", "vram", "price"), [(-1, None, 1.0), (0, 24.0, 1.0), (1, 24.0, -0.01)])
def test_offer_refuses_implausible_rows(count, vram, price):
    with pytest.raises(ValueError):
        Offer("x", "o", "r", "GPU", count, vram, None, None, None, price)


def test_offer_allows_cpu_only_and_free_rows():
    assert Offer("local", "o", "r", "CPU only", 0, None, None, None, None, 0.0).gpu_count == 0
