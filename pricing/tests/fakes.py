"""Fake provider adapters for the refresh tests: each kind's answers are driven by KNOBS, and
CALLS records how the calls overlapped, so concurrency is proven without wall-clock bounds."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from computehub import crypto
from pricing.models import Offer
from providers.adapters import base, registry
from providers.models import ProviderCredential
from providers.services import credential_aad

KEY = "sbx-test-key-0123456789"
FAKE_KINDS = ("fakea", "fakeb", "fakec")


@dataclass
class Knobs:
    """What a fake provider answers next: offers, or a delay, an error, or garbage. `by_key` and
    `errors_by_key` answer per API key, for two accounts of one provider."""

    offers: list = field(default_factory=list)
    delay: float = 0.0
    error: Exception | None = None
    garbage: bool = False
    closed: int = 0
    by_key: dict[str, list] = field(default_factory=dict)
    errors_by_key: dict[str, Exception] = field(default_factory=dict)
    barrier: asyncio.Barrier | None = None  # the call waits until every party is in flight
    during: Callable[[], Awaitable] | None = None  # runs once mid-call, after the offers are read


@dataclass
class Calls:
    """How the fake calls overlapped: the most in flight at once, and those cut off by a timeout."""

    in_flight: int = 0
    peak: int = 0
    cancelled: list[str] = field(default_factory=list)

    def enter(self) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1


KNOBS: dict[str, Knobs] = {}
CALLS = Calls()


class FakeCloud(base.ProviderAdapter):
    """A test-only adapter whose list_offers is driven by KNOBS[kind]; only refresh uses it."""

    capabilities = base.Capabilities(provider="Fake")
    default_base_url = "http://127.0.0.1:9/"

    async def list_offers(self):
        knobs = KNOBS[self.kind]
        offers = list(knobs.by_key.get(self._api_key, knobs.offers))
        await self._take_time(knobs)
        error = knobs.errors_by_key.get(self._api_key, knobs.error)
        if error is not None:
            raise error
        if knobs.garbage:
            json.loads("<html><body>502 Bad Gateway</body></html>")
        return offers

    async def _take_time(self, knobs: Knobs) -> None:
        CALLS.enter()
        try:
            if knobs.during is not None:
                hook, knobs.during = knobs.during, None
                await hook()
            if knobs.barrier is not None:
                await knobs.barrier.wait()
            await asyncio.sleep(knobs.delay)
        except asyncio.CancelledError:
            CALLS.cancelled.append(self.kind)
            raise
        finally:
            CALLS.leave()

    async def aclose(self):
        KNOBS[self.kind].closed += 1
        await super().aclose()

    async def validate_credential(self):
        raise AssertionError("refresh never validates")

    async def create_instance(self, spec):
        raise AssertionError("refresh never creates")

    async def get_instance(self, instance_id):
        raise AssertionError("refresh never reads instances")

    async def list_instances(self, tag=None):
        raise AssertionError("refresh never lists instances")

    async def terminate(self, instance_id):
        raise AssertionError("refresh never terminates")


@pytest.fixture
def fakes(monkeypatch):
    registry.load_adapters()
    monkeypatch.setattr(registry, "_ADAPTERS", {})
    KNOBS.clear()
    monkeypatch.setattr(CALLS, "in_flight", 0)
    monkeypatch.setattr(CALLS, "peak", 0)
    monkeypatch.setattr(CALLS, "cancelled", [])
    for kind in FAKE_KINDS:
        registry.register(type(f"Fake_{kind}", (FakeCloud,), {"kind": kind, "display_name": kind.upper()}))
        KNOBS[kind] = Knobs()
    return KNOBS


@pytest.fixture
def ws(team):
    return team["workspace"]


def credential(workspace, kind, key=KEY, label="main") -> ProviderCredential:
    cred = ProviderCredential(workspace=workspace, provider=kind, label=label)
    cred.secret = crypto.encrypt(key, aad=credential_aad(cred))
    cred.save()
    return cred


def offer(kind, offer_id, gpu="NVIDIA H100 80GB HBM3", count=1, price=2.0, spot=False, vram=80.0, **kw):
    return base.Offer(provider=kind, offer_id=offer_id, region="us-east", gpu_name_raw=gpu, gpu_count=count,
                      vram_gb_per_gpu=vram, vcpus=16, ram_gb=64, disk_gb=100, price_per_hour=price, spot=spot, **kw)


def prices(cred) -> dict[str, float]:
    return dict(Offer.objects.filter(credential=cred).values_list("offer_id", "price_per_hour"))
