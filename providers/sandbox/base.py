"""The pieces every simulated cloud shares: requests, responses, routing, API-key checks, fault
knobs, drifting prices and time-driven instance lifecycles.

Each provider's sandbox (one module each) subclasses `SandboxCloud`, declares its routes and
answers exactly as that provider's real API does (paths, auth header, JSON shapes, status
strings, error and 429 bodies: see shared/reference/providers.md). Adapters cannot tell a
sandbox from the real service except by its base URL.
"""

import json
import math
import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from providers.sandbox import ssh

# Keys a sandbox accepts. Anything else is refused with the provider's own 401 body, so
# "validate the key before saving" can be exercised both ways.
GOOD_KEY_PREFIX = "sbx-"


@dataclass
class Request:
    method: str
    path: str  # below the cloud's mount point, e.g. "/graphql" for /runpod/graphql
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def json(self):
        """The parsed body; raises ValueError on anything but JSON (callers answer 400)."""
        return json.loads(self.body.decode("utf-8") or "null")

    def bearer(self) -> str | None:
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # sent chunk by chunk instead of `body` (Server-Sent Events)

    @classmethod
    def json(cls, data, status: int = 200, content_type: str = "application/json", **headers) -> "Response":
        return cls(status, json.dumps(data).encode(), {"Content-Type": content_type, **headers})

    @classmethod
    def text(cls, text: str, status: int = 200, **headers) -> "Response":
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8", **headers})

    @classmethod
    def html(cls, text: str, status: int) -> "Response":
        return cls(status, text.encode(), {"Content-Type": "text/html; charset=utf-8"})


@dataclass
class Faults:
    """Knobs a test or benchmark turns to make a cloud misbehave. All off by default."""

    latency_s: float = 0.0  # added to every answer
    error_rate: float = 0.0  # share of calls answered with a 5xx
    rate_limit_every: int = 0  # every Nth call is answered 429 (0: never)
    capacity_error: bool = False  # creates fail with the provider's "no capacity" error
    outage: bool = False  # every call answers 503 (an HTML page, as load balancers do)
    garbage: str = ""  # "html" | "truncated" | "missing_fields": broken answers to offer listings
    preempt_spot: bool = False  # running spot instances are taken away

    def update(self, values: dict) -> None:
        for name, value in values.items():
            if not hasattr(self, name):
                raise KeyError(name)
            setattr(self, name, type(getattr(self, name))(value))


class PriceDrift:
    """Deterministic, smooth drift: the same offer has the same price at the same moment in every
    process, and moves by up to ±`amplitude` over `period_s`."""

    def __init__(self, *, amplitude: float = 0.08, period_s: float = 6 * 3600, clock=time.time):
        self.amplitude, self.period_s, self.clock = amplitude, period_s, clock

    def price(self, base: float, key: str) -> float:
        phase = (hash_unit(key) * 2 * math.pi) if key else 0.0
        factor = 1 + self.amplitude * math.sin(2 * math.pi * self.clock() / self.period_s + phase)
        return round(base * factor, 4)


def hash_unit(key: str) -> float:
    """A stable number in [0, 1) for `key` (Python's hash() differs between processes)."""
    return int(uuid.uuid5(uuid.NAMESPACE_URL, key).hex[:8], 16) / 0x100000000


@dataclass
class SimInstance:
    """An instance whose status follows from time: booting for `boot_s`, then running, unless
    the user (or a fault) moved it on."""

    id: str
    owner_key: str
    created_at: float
    spec: dict
    boot_s: float = 2.0
    state: str = "running"  # what the user asked for: running | stopped | terminated | preempted
    changed_at: float = 0.0
    extra: dict = field(default_factory=dict)
    past_runs: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of earlier container runs

    def booted(self, now: float) -> bool:
        return now - max(self.created_at, self.changed_at) >= self.boot_s

    def run_started_at(self) -> float | None:
        """When the container of the current run starts (after booting); None unless running."""
        return max(self.created_at, self.changed_at) + self.boot_s if self.state == "running" else None


class SandboxCloud:
    """Base of one simulated provider. Subclasses set `name` and `routes`, and implement handlers
    `handler(self, request, **match_groups) -> Response`."""

    name = ""
    display_name = ""
    routes: list[tuple[str, str, str]] = []  # (method, path regex, handler method name)

    def __init__(self, *, clock=time.time, seed: int = 0):
        self.clock = clock
        self.faults = Faults()
        self.drift = PriceDrift(clock=clock)
        self.random = random.Random(seed)
        self.instances: dict[str, SimInstance] = {}
        self.lock = threading.RLock()
        self.calls = 0
        self._compiled = [(m, re.compile(p + r"\Z"), h) for m, p, h in self.routes]

    def reset(self) -> None:
        """Knobs off, instances and call count forgotten."""
        with self.lock:
            for instance in self.instances.values():
                ssh.close_for(self, instance)
            self.faults, self.instances, self.calls = Faults(), {}, 0

    # --- what subclasses provide -------------------------------------------------------------

    def unauthorized(self) -> Response:
        """The provider's own answer to a missing or refused key."""
        return Response.json({"error": "unauthorized"}, status=401)

    def rate_limited(self) -> Response:
        return Response.json({"error": "rate limited"}, status=429, **{"Retry-After": "1"})

    def not_found(self) -> Response:
        return Response.json({"error": "not found"}, status=404)

    def api_key(self, request: Request) -> str | None:
        return request.bearer()

    # --- dispatch ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        with self.lock:
            self.calls += 1
            call = self.calls
        if self.faults.latency_s:
            time.sleep(self.faults.latency_s)
        faulty = self._fault_response(call)
        if faulty is not None:
            return faulty
        key = self.api_key(request)
        if not key or not key.startswith(GOOD_KEY_PREFIX):
            return self.unauthorized()
        return self._route(request, key)

    def _fault_response(self, call: int) -> Response | None:
        if self.faults.outage:
            return Response.html("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", 503)
        if self.faults.rate_limit_every and call % self.faults.rate_limit_every == 0:
            return self.rate_limited()
        if self.faults.error_rate and self.random.random() < self.faults.error_rate:
            return Response.html("<html><body><h1>502 Bad Gateway</h1></body></html>", 502)
        return None

    def _route(self, request: Request, key: str) -> Response:
        allowed = False
        for method, pattern, handler in self._compiled:
            match = pattern.match(request.path)
            if match is None:
                continue
            allowed = True
            if method == request.method:
                with self.lock:
                    return getattr(self, handler)(request, key=key, **match.groupdict())
        return Response.json({"error": "method not allowed"}, 405) if allowed else self.not_found()

    # --- helpers for subclasses --------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def new_id(self, prefix: str = "") -> str:
        return prefix + uuid.UUID(int=self.random.getrandbits(128)).hex[:12]

    def owned(self, key: str, instance_id: str) -> SimInstance | None:
        """The instance if it exists for this account and is not gone."""
        instance = self.instances.get(str(instance_id))
        if instance is None or instance.owner_key != key or instance.state == "terminated":
            return None
        return instance

    def set_state(self, instance: SimInstance, state: str) -> None:
        started, now = instance.run_started_at(), self.now()
        if started is not None and started <= now:  # its container ran: keep that run's output
            instance.past_runs.append((started, now))
        instance.state, instance.changed_at = state, now
        if state == "terminated":
            ssh.close_for(self, instance)

    def apply_preemption(self) -> None:
        """With the knob on, every running spot instance is taken away (checked on each read)."""
        if not self.faults.preempt_spot:
            return
        for instance in self.instances.values():
            if instance.spec.get("spot") and instance.state == "running":
                self.set_state(instance, "preempted")


def parse_query(raw: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(raw, keep_blank_values=True).items()}
