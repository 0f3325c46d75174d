"""A test-only cloud for the credential tests: a real ProviderAdapter subclass whose HTTP goes to
an in-process httpx.MockTransport (nothing leaves the process), installed under real kinds."""

import asyncio

import httpx
import pytest

from providers.adapters import registry
from providers.adapters.base import Capabilities, ProviderAdapter

GOOD_PREFIX = "sk-CANARY"  # keys the fake cloud accepts, so the canary itself can be a good key


class FakeCloudState:
    """What the fake cloud answers: "ok" (good keys accepted), "refuse" (every key, quoting it), "down", "hang",
    "echo" (a 400 quoting the key)."""

    def __init__(self):
        self.mode, self.calls = "ok", 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.mode == "hang":  # MockTransport awaits a coroutine answer
            return asyncio.sleep(60, result=httpx.Response(200))
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "echo":
            return httpx.Response(400, text=f"bad request for key {key}")
        if self.mode == "refuse" or not key.startswith(GOOD_PREFIX):
            return httpx.Response(401, json={"error": f"invalid api key {key}"})
        return httpx.Response(200, json={"user": "ok"})


class _FakeAdapter(ProviderAdapter):
    state: FakeCloudState
    rate_limit = (1000.0, 1000)
    max_attempts = 2

    def __init__(self, api_key, *, base_url=None, transport=None):
        super().__init__(api_key, base_url=base_url, transport=transport or httpx.MockTransport(self.state))

    async def _sleep(self, seconds):
        return None

    def _classify(self, response):
        if response.status_code == 401:  # quote the body as careless adapters do; the base scrubs it
            from providers.adapters.base import AuthError
            return AuthError(f"The provider said: {response.text}")
        return super()._classify(response)

    async def validate_credential(self):
        await self._request("GET", "/me")

    async def list_offers(self):
        return []

    async def create_instance(self, spec):
        raise NotImplementedError("not needed by credential tests")

    async def get_instance(self, instance_id):
        raise NotImplementedError("not needed by credential tests")

    async def list_instances(self, tag=None):
        return []

    async def terminate(self, instance_id):
        return None


def make_fake(kind: str, display_name: str, state: FakeCloudState, **caps) -> type[ProviderAdapter]:
    attrs = {"kind": kind, "display_name": display_name, "state": state,
             "capabilities": Capabilities(provider=display_name, **caps),
             "default_base_url": f"https://{kind}.invalid/api/v1"}
    return type(f"Fake{kind.title()}Adapter", (_FakeAdapter,), attrs)


@pytest.fixture
def fake_clouds(monkeypatch):
    """Only two kinds exist while a test runs, whatever real adapters are registered: "runpod"
    (spot, logs, metrics, ssh) and "lambda" (none of those), sharing one scripted state."""
    registry.load_adapters()  # import real modules first, so they cannot register into our dict
    state = FakeCloudState()
    adapters = {"runpod": make_fake("runpod", "RunPod", state, spot=True, logs=True, metrics=True, ssh=True),
                "lambda": make_fake("lambda", "Lambda", state)}
    monkeypatch.setattr(registry, "_ADAPTERS", adapters)
    return state
