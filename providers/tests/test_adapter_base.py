"""The adapter interface: a minimal concrete adapter, errors, capabilities, data types, registry."""

import logging
import uuid
from datetime import datetime, timezone

import httpx
import pytest

from computehub import crypto
from computehub.http import json_body
from providers.adapters import registry
from providers.adapters.base import (
    AuthError,
    Capabilities,
    CapacityError,
    Instance,
    InstanceSpec,
    InstanceStatus,
    NotFound,
    NotSupported,
    Offer,
    ProviderAdapter,
    ProviderError,
    ProviderErrorBase,
    ProviderUnavailable,
    RateLimited,
    normalize_status,
)

CANARY = "sk-CANARY-123"
DEMO_STATUS = {"booting": InstanceStatus.PROVISIONING, "active": InstanceStatus.RUNNING,
               "off": InstanceStatus.STOPPED, "gone": InstanceStatus.TERMINATED}


class DemoAdapter(ProviderAdapter):
    """The smallest real adapter: a classify mapping for its envelope, parsers, and calls."""

    kind = "demo"
    display_name = "Demo Cloud"
    capabilities = Capabilities(provider="Demo Cloud", stop_start=True)
    default_base_url = "https://demo.test/api"
    rate_limit = (1000.0, 1000)
    scoped_rate_limits = {"launch": (100.0, 100)}

    async def _sleep(self, seconds):
        self.slept = [*getattr(self, "slept", []), seconds]

    def _classify(self, response):
        body = json_body(response)
        code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
        if code == "insufficient-capacity":
            return CapacityError()
        return super()._classify(response)

    async def validate_credential(self):
        await self._request("GET", "/me")

    async def list_offers(self):
        body = (await self._request("GET", "/offers")).json()
        return [Offer(provider=self.kind, offer_id=row["id"], region=row["region"], gpu_name_raw=row["gpu"],
                      gpu_count=row["count"], vram_gb_per_gpu=row["vram"], vcpus=None, ram_gb=None,
                      disk_gb=None, price_per_hour=row["price"], raw=row) for row in body["data"]]

    async def create_instance(self, spec):
        self.require("spot") if spec.spot else None
        body = (await self._request("POST", "/launch", scope="launch", json={"name": spec.tag})).json()
        return self._parse(body["data"])

    async def get_instance(self, instance_id):
        return self._parse((await self._request("GET", f"/instances/{instance_id}")).json()["data"])

    async def list_instances(self, tag=None):
        rows = (await self._request("GET", "/instances")).json()["data"]
        return [self._parse(row) for row in rows if tag is None or row["name"] == tag]

    async def terminate(self, instance_id):
        try:
            await self._request("DELETE", f"/instances/{instance_id}")
        except NotFound:
            pass  # already gone is what terminate wants

    async def start(self, instance_id):
        await self._request("POST", f"/instances/{instance_id}/start")

    async def stop(self, instance_id):
        await self._request("POST", f"/instances/{instance_id}/stop")

    def _parse(self, row):
        return Instance(instance_id=row["id"], tag=row["name"], status=normalize_status(row["status"], DEMO_STATUS),
                        raw_status=row["status"], public_ip=row.get("ip"), raw=row)


class Cloud:
    """A scripted MockTransport: path -> list of responses (the last repeats); records requests."""

    def __init__(self, routes):
        self.routes, self.requests = {path: list(answers) for path, answers in routes.items()}, []

    def __call__(self, request):
        self.requests.append(request)
        answers = self.routes[request.url.path]
        step = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(step, type):
            raise step(f"boom {request.url}", request=request)
        return step


def adapter_for(routes, key=CANARY):
    cloud = Cloud(routes)
    return DemoAdapter(key, transport=httpx.MockTransport(cloud)), cloud


def instance_row(status="booting", **extra):
    return {"id": "i-1", "name": "ch-x", "status": status, **extra}


SPEC = InstanceSpec(deployment_id=uuid.UUID(int=7), name="train", offer_id="o-1", image="pytorch:latest",
                    env={"HF_TOKEN": "hf_secret"})


# --- A concrete adapter works through the base ---------------------------------------------------


async def test_demo_adapter_lists_offers_with_canonical_gpu_models():
    rows = [{"id": "o-1", "region": "us-east", "gpu": "NVIDIA H100 80GB HBM3", "count": 8, "vram": 80, "price": 23.92},
            {"id": "o-2", "region": "eu", "gpu": "Mystery GPU", "count": 1, "vram": 24, "price": 0.3}]
    adapter, cloud = adapter_for({"/api/offers": [httpx.Response(200, json={"data": rows})]})
    async with adapter:
        offers = await adapter.list_offers()
    assert [offer.gpu_model for offer in offers] == ["h100-sxm", None]
    assert offers[0].price_per_gpu_hour == pytest.approx(2.99) and offers[0].raw == rows[0]
    sent = cloud.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {CANARY}" and sent.headers["User-Agent"] == "ComputeHub/1.0"


async def test_create_get_list_terminate_round_trip():
    listing = [instance_row("active"), {**instance_row(), "name": "y"}]
    adapter, cloud = adapter_for({
        "/api/launch": [httpx.Response(200, json={"data": instance_row()})],
        "/api/instances/i-1": [httpx.Response(200, json={"data": instance_row("new-state")}), httpx.Response(404)],
        "/api/instances": [httpx.Response(200, json={"data": listing})],
    })
    async with adapter:
        created = await adapter.create_instance(SPEC)
        odd = await adapter.get_instance("i-1")
        listed = await adapter.list_instances(tag="ch-x")
        await adapter.terminate("i-1")  # answers 404: already gone counts as done
    assert created.status is InstanceStatus.PROVISIONING and created.raw_status == "booting"
    assert odd.status is InstanceStatus.UNKNOWN and odd.raw_status == "new-state"
    assert [instance.status for instance in listed] == [InstanceStatus.RUNNING]
    assert cloud.requests[0].read() == b'{"name":"ch-00000000-0000-0000-0000-000000000007"}'


async def test_unsupported_actions_raise_not_supported_with_the_reason():
    adapter, cloud = adapter_for({})
    with pytest.raises(NotSupported, match="Demo Cloud cannot restart an instance") as raised:
        await adapter.restart("i-1")
    assert raised.value.action == "restart"
    for call in (adapter.fetch_logs("i-1"), adapter.fetch_metrics("i-1"), adapter.ssh_info("i-1")):
        with pytest.raises(NotSupported):
            await call
    with pytest.raises(NotSupported, match="no spot"):
        await adapter.create_instance(InstanceSpec(**{**SPEC.__dict__, "spot": True}))
    assert cloud.requests == []  # refused before any call to the provider


def test_the_abstract_interface_cannot_be_instantiated_half_done():
    with pytest.raises(TypeError):
        ProviderAdapter(CANARY)

    class Half(DemoAdapter):
        terminate = ProviderAdapter.terminate  # still abstract

    with pytest.raises(TypeError, match="terminate"):
        Half(CANARY)


# --- Error mapping through _request --------------------------------------------------------------


@pytest.mark.parametrize("answer, error", [
    (httpx.Response(401), AuthError), (httpx.Response(403), AuthError), (httpx.Response(404), NotFound),
    (httpx.Response(503), ProviderUnavailable), (httpx.ConnectError, ProviderUnavailable),
    (httpx.Response(409, json={"error": {"code": "insufficient-capacity"}}), CapacityError),
    (httpx.Response(418, text="teapot"), ProviderError),
])  # fmt: skip
async def test_responses_map_to_the_small_error_set(answer, error):
    adapter, _ = adapter_for({"/api/me": [answer]})
    with pytest.raises(error):
        await adapter.validate_credential()


async def test_rate_limited_carries_retry_after_and_backs_off_through_the_adapter_sleep():
    adapter, cloud = adapter_for({"/api/me": [httpx.Response(429, headers={"Retry-After": "3"})]})
    with pytest.raises(RateLimited) as raised:
        await adapter.validate_credential()
    assert raised.value.retry_after == 3.0
    assert adapter.slept == [3.0, 3.0, 3.0] and len(cloud.requests) == adapter.max_attempts


async def test_errors_and_logs_never_show_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    echo = httpx.Response(400, text=("x" * 480) + f" your key {CANARY} is malformed " + "y" * 2000)
    adapter, _ = adapter_for({"/api/me": [echo], "/api/offers": [httpx.ConnectError]})
    errors = []
    for call in (adapter.validate_credential, adapter.list_offers):
        with pytest.raises(ProviderErrorBase) as raised:
            await call()
        errors.append(raised.value)
    assert isinstance(errors[0], ProviderError) and len(errors[0].raw) <= 500
    assert "CANARY" not in errors[0].raw and "sk-CAN" not in errors[0].raw  # scrubbed before the cut
    assert isinstance(errors[1], ProviderUnavailable) and "Demo Cloud could not be reached" in str(errors[1])
    assert not [error for error in errors if CANARY in str(error) or CANARY in repr(error)]
    assert not [record for record in caplog.records if CANARY in record.getMessage()]


async def test_an_error_quoting_a_body_that_echoes_the_key_is_scrubbed_on_the_way_out():
    class Careless(DemoAdapter):
        def _classify(self, response):
            return AuthError(f"refused: {response.text}") if response.status_code == 401 else None

    cloud = Cloud({"/api/me": [httpx.Response(401, text=f"key {CANARY} revoked")]})
    with pytest.raises(AuthError) as raised:
        await Careless(CANARY, transport=httpx.MockTransport(cloud)).validate_credential()
    assert str(raised.value) == "refused: key [redacted] revoked"


def test_repr_shows_the_fingerprint_never_the_key():
    adapter = DemoAdapter(CANARY, base_url=f"https://demo.test/api?api_key={CANARY}")
    assert CANARY not in repr(adapter) and crypto.fingerprint(CANARY) in repr(adapter)


def test_provider_error_truncates_and_scrubs():
    error = ProviderError("e" * 498 + CANARY, secrets=(CANARY,))
    assert "sk-" not in error.raw and len(error.raw) == 500 and error.raw in str(error)


# --- Shared rate limits --------------------------------------------------------------------------


def test_adapters_on_one_credential_share_their_limiters():
    first, second = DemoAdapter(CANARY), DemoAdapter(CANARY, base_url="https://x.test")
    other = DemoAdapter("sk-other-456")
    assert first._limiters(None)[0] is second._limiters(None)[0]
    assert first._limiters("launch") == second._limiters("launch")
    assert first._limiters("launch")[0] is not first._limiters(None)[0]  # launch is its own bucket
    assert first._limiters(None)[0] is not other._limiters(None)[0]


# --- Capabilities --------------------------------------------------------------------------------


def test_capability_reasons_explain_what_a_provider_cannot_do():
    lam = Capabilities(provider="Lambda", restart=True, ssh=True)
    assert lam.reason("stop") == "Lambda cannot stop an instance; it can only be terminated"
    assert lam.reason("start").startswith("Lambda cannot start a stopped instance")
    assert lam.reason("spot") == "Lambda has no spot (interruptible) instances"
    assert lam.reason("fetch_logs") == "Lambda offers no API for instance logs"
    assert lam.reason("restart") is None and lam.reason("ssh_info") is None
    assert lam.reason("terminate") is None and lam.supports("create_instance")


def test_capability_notes_override_the_default_wording_and_are_checked():
    akash = Capabilities(provider="Akash", notes={"restart": "Akash cannot restart a lease; close it and deploy again"})
    assert akash.reason("restart") == "Akash cannot restart a lease; close it and deploy again"
    with pytest.raises(TypeError):
        akash.notes["stop"] = "mutable?"
    with pytest.raises(ValueError, match="unknown actions"):
        Capabilities(provider="X", notes={"reboot": "no"})


# --- Data types ----------------------------------------------------------------------------------


def test_offer_rejects_implausible_rows():
    base = dict(provider="demo", offer_id="o", region="r", gpu_name_raw="RTX 4090", vram_gb_per_gpu=24,
                vcpus=8, ram_gb=32, disk_gb=100)
    assert Offer(**base, gpu_count=2, price_per_hour=0.7).gpu_model == "rtx-4090"
    assert Offer(**base, gpu_count=1, price_per_hour=1, gpu_model="rtx-4090-d").gpu_model == "rtx-4090-d"
    for count, price in ((0, 1.0), (-1, 1.0), (1, -0.1)):  # 0 GPUs yet 24 GB VRAM each: a broken row
        with pytest.raises(ValueError):
            Offer(**base, gpu_count=count, price_per_hour=price)
    cpu_only = {**base, "gpu_name_raw": "CPU only", "vram_gb_per_gpu": None}
    assert Offer(**cpu_only, gpu_count=0, price_per_hour=0).price_per_gpu_hour == 0


def test_instance_spec_tag_and_secret_env():
    assert SPEC.tag == "ch-00000000-0000-0000-0000-000000000007"
    assert "hf_secret" not in repr(SPEC)
    with pytest.raises(ValueError):
        InstanceSpec(deployment_id=uuid.uuid4(), name="n", offer_id="o", image="i", bid_per_hour=0.5)


def test_status_values_match_the_reference_table():
    assert [status.value for status in InstanceStatus] == [
        "pending", "provisioning", "starting", "running", "stopping", "stopped", "terminating",
        "terminated", "failed", "preempted", "unknown"]  # fmt: skip
    assert normalize_status(" ACTIVE ", DEMO_STATUS) is InstanceStatus.RUNNING
    assert normalize_status(None, DEMO_STATUS) is InstanceStatus.UNKNOWN
    assert Instance("i", None, InstanceStatus.RUNNING, "active", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


# --- Registry ------------------------------------------------------------------------------------


@pytest.fixture
def empty_registry(monkeypatch):
    registry.load_adapters()  # once, into the real registry, before it is swapped out here
    monkeypatch.setattr(registry, "_ADAPTERS", {})


def test_registry_registers_and_finds_kinds(empty_registry):
    assert registry.register(DemoAdapter) is DemoAdapter
    assert registry.register(DemoAdapter) is DemoAdapter  # re-importing a module is harmless
    assert registry.adapter_class("demo") is DemoAdapter and registry.all_kinds() == ["demo"]
    with pytest.raises(KeyError, match="unknown provider kind 'nope' \\(known: demo\\)"):
        registry.adapter_class("nope")


def test_registry_refuses_a_second_class_for_a_kind(empty_registry):
    registry.register(DemoAdapter)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(type("Copy", (DemoAdapter,), {}))


def test_registry_refuses_incomplete_or_inconsistent_adapters(empty_registry):
    lying = type("Lying", (DemoAdapter,), {"kind": "lying", "capabilities": Capabilities(provider="L")})
    hiding = type("Hiding", (DemoAdapter,), {"kind": "hiding",
                                             "capabilities": Capabilities(provider="H", stop_start=True, logs=True)})
    for cls, message in ((ProviderAdapter, "concrete"), (type("NoKind", (DemoAdapter,), {"kind": ""}), "kind"),
                         (lying, "implements start"), (hiding, "does not implement fetch_logs")):
        with pytest.raises(TypeError, match=message):
            registry.register(cls)
    assert registry.all_kinds() == []
