"""The provider adapter interface (DESIGN.md §4): data types and the abstract adapter (errors
in providers.adapters.errors, re-exported here).
An adapter talks to one cloud over HTTP (computehub.http) and returns these dataclasses, never
raw JSON. Each concrete adapter writes a ``_classify`` mapping for its error envelope and the
parsers; retries, rate limits, timeouts and redaction come from ``_request``.
"""

import abc
import asyncio
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import httpx

from computehub import crypto
from computehub.http import (NetworkError, limiter_for, make_client, parse_retry_after, redact,
                             request_with_retries, safe_url)
from pricing.gpu_specs import canonical_gpu
from providers.adapters.errors import (AuthError, CapacityError, NotFound, NotSupported,  # noqa: F401 (re-exported)
                                       ProviderError, ProviderErrorBase, ProviderUnavailable, RateLimited)

# --- Capabilities --------------------------------------------------------------------------------

# action -> (Capabilities flag, default explanation when the flag is off)
_ACTIONS = {
    "start": ("stop_start", "{p} cannot start a stopped instance; it has no stopped state, so deploy again"),
    "stop": ("stop_start", "{p} cannot stop an instance; it can only be terminated"),
    "restart": ("restart", "{p} cannot restart an instance; terminate it and deploy again"),
    "fetch_logs": ("logs", "{p} offers no API for instance logs"),
    "fetch_metrics": ("metrics", "{p} offers no API for instance metrics"),
    "ssh_info": ("ssh", "{p} instances cannot be reached over SSH"),
    "spot": ("spot", "{p} has no spot (interruptible) instances"),
}
OPTIONAL_METHODS = tuple(action for action in _ACTIONS if action != "spot")


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do, so the UI and API explain an action instead of failing it."""

    provider: str  # display name used in the explanations
    spot: bool = False
    stop_start: bool = False
    restart: bool = False
    logs: bool = False
    metrics: bool = False
    ssh: bool = False
    notes: Mapping[str, str] = field(default_factory=dict, hash=False)  # action -> own wording

    def __post_init__(self):
        unknown = set(self.notes) - set(_ACTIONS)
        if unknown:
            raise ValueError(f"notes for unknown actions: {sorted(unknown)}")
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    def reason(self, action: str) -> str | None:
        """Why ``action`` is impossible on this provider, or None when it is supported (actions
        outside the optional set, such as create or terminate, are always supported)."""
        if action not in _ACTIONS:
            return None
        flag, template = _ACTIONS[action]
        if getattr(self, flag):
            return None
        return self.notes.get(action) or template.format(p=self.provider)

    def supports(self, action: str) -> bool:
        return self.reason(action) is None


# --- Data ----------------------------------------------------------------------------------------


class InstanceStatus(enum.StrEnum):
    """Normalized status (reference/providers.md §7); the raw string is always kept beside it."""

    PENDING = "pending"
    PROVISIONING = "provisioning"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    FAILED = "failed"
    PREEMPTED = "preempted"
    UNKNOWN = "unknown"


def normalize_status(raw: str | None, mapping: Mapping[str, InstanceStatus]) -> InstanceStatus:
    """Case-insensitive lookup; a status the provider added later becomes UNKNOWN, not a crash."""
    return mapping.get((raw or "").strip().lower(), InstanceStatus.UNKNOWN)


@dataclass(frozen=True)
class Offer:
    provider: str
    offer_id: str
    region: str
    gpu_name_raw: str
    gpu_count: int
    vram_gb_per_gpu: float | None
    vcpus: float | None
    ram_gb: float | None
    disk_gb: float | None
    price_per_hour: float  # the whole offer (all its GPUs), USD
    spot: bool = False
    min_bid_per_hour: float | None = None
    available: int | None = None
    reliability: float | None = None
    cuda_version: str | None = None
    gpu_model: str | None = None  # canonical GPU_SPECS id; derived from the raw name when omitted
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    def __post_init__(self):
        # Refuses rows that cannot be real: negative counts or prices, or "0 GPUs" with VRAM (a
        # parse error). $0 is allowed (This machine is free); 0 GPUs only as a CPU-only row.
        cpu_only_with_vram = self.gpu_count == 0 and bool(self.vram_gb_per_gpu)
        if self.gpu_count < 0 or self.price_per_hour < 0 or cpu_only_with_vram:
            raise ValueError(f"implausible offer {self.offer_id!r}: {self.gpu_count} GPUs at ${self.price_per_hour}/h")
        if self.gpu_model is None:
            object.__setattr__(self, "gpu_model", canonical_gpu(self.gpu_name_raw, vram_gb=self.vram_gb_per_gpu))

    @property
    def price_per_gpu_hour(self) -> float:
        return self.price_per_hour / max(self.gpu_count, 1)


@dataclass(frozen=True)
class InstanceSpec:
    deployment_id: uuid.UUID  # becomes the tag, so a lost create can be found and adopted
    name: str
    offer_id: str
    image: str
    command: tuple[str, ...] = ()  # argv; adapters quote it for providers that want a string
    env: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)  # may hold tokens
    ports: tuple[int, ...] = ()
    disk_gb: int = 50
    spot: bool = False
    bid_per_hour: float | None = None
    # One or more OpenSSH public keys, one per line; the first is ComputeHub's own (the one a
    # provider that takes a single key at launch gets).
    ssh_public_key: str | None = None

    def __post_init__(self):
        if self.bid_per_hour is not None and not self.spot:
            raise ValueError("bid_per_hour only applies to spot instances")

    @property
    def tag(self) -> str:
        return f"ch-{self.deployment_id}"

    @property
    def ssh_public_keys(self) -> tuple[str, ...]:
        """Each key once, in the order given; blank lines dropped."""
        lines = (line.strip() for line in (self.ssh_public_key or "").splitlines())
        return tuple(dict.fromkeys(line for line in lines if line))


@dataclass(frozen=True)
class Instance:
    instance_id: str
    tag: str | None
    status: InstanceStatus
    raw_status: str | None
    public_ip: str | None = None
    ssh_host: str | None = None
    ssh_port: int | None = None
    ssh_user: str | None = None
    ports: Mapping[int, int] = field(default_factory=dict, hash=False)  # container port -> public port
    price_per_hour: float | None = None
    created_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass(frozen=True)
class SshInfo:
    host: str
    port: int
    user: str

    @property
    def command(self) -> str:
        return f"ssh -p {self.port} {self.user}@{self.host}"


@dataclass(frozen=True)
class LogLine:
    text: str
    at: datetime | None = None  # None when the provider gives no timestamps


@dataclass(frozen=True)
class MetricPoint:
    name: str  # e.g. "gpu_util_percent", "gpu_memory_used_gb", "cpu_percent"
    value: float
    at: datetime
    gpu_index: int | None = None


# --- The adapter ---------------------------------------------------------------------------------


class ProviderAdapter(abc.ABC):
    """One provider account. Use ``async with adapter:`` (or ``await adapter.aclose()``) so the
    connection pool is closed in the event loop that opened it."""

    kind: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    default_base_url: ClassVar[str]
    # requests per second and burst for every call on one credential, plus stricter buckets for
    # named scopes (Lambda: {"launch": (1 / 12, 1)}), shared by all instances in the process.
    rate_limit: ClassVar[tuple[float, int]] = (1.0, 1)
    scoped_rate_limits: ClassVar[Mapping[str, tuple[float, int]]] = MappingProxyType({})
    max_attempts: ClassVar[int] = 4
    base_delay: ClassVar[float] = 0.5
    max_delay: ClassVar[float] = 20.0
    timeout: ClassVar[httpx.Timeout | None] = None  # None: computehub.http.DEFAULT_TIMEOUT

    def __init__(self, api_key: str, *, base_url: str | None = None, transport: httpx.AsyncBaseTransport | None = None):
        self._api_key = api_key
        self._fingerprint = crypto.fingerprint(api_key)
        self.base_url = base_url or self.default_base_url
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind} {safe_url(self.base_url)} credential={self._fingerprint}>"

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @abc.abstractmethod
    async def validate_credential(self) -> None:
        """Raise AuthError when the key is refused; return quietly when it works."""

    @abc.abstractmethod
    async def list_offers(self) -> list[Offer]:
        """Every offer this account can rent now."""

    @abc.abstractmethod
    async def create_instance(self, spec: InstanceSpec) -> Instance:
        """Rent ``spec`` tagged with ``spec.tag``. Never retried blindly: on a timeout the caller
        looks for the tag with list_instances before trying again."""

    @abc.abstractmethod
    async def get_instance(self, instance_id: str) -> Instance:
        """The instance now; NotFound when the provider no longer knows it."""

    @abc.abstractmethod
    async def list_instances(self, tag: str | None = None) -> list[Instance]:
        """All instances of the account, or only those carrying ``tag``."""

    @abc.abstractmethod
    async def terminate(self, instance_id: str) -> None:
        """Destroy the instance; succeeds when it is already gone (terminate is retried)."""

    async def start(self, instance_id: str) -> None:
        self._unsupported("start")

    async def stop(self, instance_id: str) -> None:
        self._unsupported("stop")

    async def restart(self, instance_id: str) -> None:
        self._unsupported("restart")

    async def fetch_logs(self, instance_id: str, since: datetime | None = None) -> list[LogLine]:
        self._unsupported("fetch_logs")

    async def fetch_metrics(self, instance_id: str) -> list[MetricPoint]:
        self._unsupported("fetch_metrics")

    async def ssh_info(self, instance_id: str) -> SshInfo:
        self._unsupported("ssh_info")

    def require(self, action: str) -> None:
        """Raise NotSupported when the provider cannot do ``action`` (e.g. "spot" in a create)."""
        reason = self.capabilities.reason(action)
        if reason is not None:
            raise NotSupported(action, reason)

    def _unsupported(self, action: str):
        self.require(action)
        # Declared but not overridden: registry.register refuses that, so only unregistered classes get here.
        raise NotImplementedError(f"{type(self).__name__} declares {action!r} but does not implement it")

    def _auth_headers(self) -> dict[str, str]:
        """Bearer by default; Akash overrides with ``x-api-key``."""
        return {"Authorization": f"Bearer {self._api_key}"}

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = make_client(base_url=self.base_url, headers=self._auth_headers(),
                                       timeout=self.timeout, transport=self._transport)
        return self._client

    def _limiters(self, scope: str | None) -> tuple:
        rate, burst = self.rate_limit
        general = limiter_for(f"{self.kind}:{self._fingerprint}", rate, burst)
        if scope is None:
            return (general,)
        scoped_rate, scoped_burst = self.scoped_rate_limits[scope]
        return (limiter_for(f"{self.kind}:{self._fingerprint}:{scope}", scoped_rate, scoped_burst), general)

    async def _sleep(self, seconds: float) -> None:
        """Backoff between retries; tests override it so they do not wait."""
        await asyncio.sleep(seconds)

    async def _request(self, method: str, url: str, *, scope: str | None = None, **kwargs) -> httpx.Response:
        """One provider call with the house retry policy; every failure is a ProviderErrorBase
        whose message is scrubbed of the key. ``scope`` adds a named bucket (e.g. "launch")."""
        try:
            return await request_with_retries(
                self._http(), method, url, classify=self._classify, limiter=self._limiters(scope),
                max_attempts=self.max_attempts, base_delay=self.base_delay, max_delay=self.max_delay,
                sleep=self._sleep, **kwargs)
        except NetworkError as exc:
            raise ProviderUnavailable(f"{self.display_name} could not be reached ({exc})") from None
        except ProviderErrorBase as exc:
            self._scrub_error(exc)
            raise

    def _scrub_error(self, exc: ProviderErrorBase) -> None:
        """Last line of defence for a ``_classify`` that quoted a body echoing the key."""
        exc.args = tuple(self._scrub(str(arg)) for arg in exc.args)
        if isinstance(exc, ProviderError):
            exc.raw = self._scrub(exc.raw)

    def _scrub(self, text: str) -> str:
        return redact(text, (self._api_key,))

    def _classify(self, response: httpx.Response) -> ProviderErrorBase | None:
        """Status-code mapping; adapters override it to read their error envelope first (RunPod's
        GraphQL answers errors with 200) and fall back to this."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        if status == 429:
            return RateLimited(parse_retry_after(response.headers.get("Retry-After")))
        if status >= 500:
            return ProviderUnavailable(f"{self.display_name} answered HTTP {status}.")
        known = {401: AuthError, 403: AuthError, 404: NotFound}.get(status)
        return known() if known else ProviderError(f"HTTP {status}: {response.text}", secrets=(self._api_key,))
