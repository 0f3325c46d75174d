"""One simulated world per process: a fake clock that Django (timezone.now) and every sandbox
cloud read, the sandbox clouds answering the real adapters in-process (an httpx transport in
place of loopback HTTP: the same requests, answers and fault knobs, without a socket per call),
and a record of every changing provider call. Only side channels are switched off: browser
pushes (computehub.realtime.publish) and the django-q wake-ups (the driver sweeps instead)."""

import json
import re
from types import SimpleNamespace
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

import httpx

from providers.sandbox import all_clouds
from providers.sandbox.base import Request, SandboxCloud, parse_query
from providers.sandbox.server import SandboxApp

TAG = re.compile(r"ch-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
CHANGING = ("create_instance", "start", "stop", "restart", "terminate")
FAST = (1000.0, 1000)


class FakeClock:
    """Epoch seconds that move only when the driver (or a backoff wait) moves them."""

    def __init__(self, start: float):
        self.t = float(start)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, tz=dt_timezone.utc)


@dataclass
class Call:
    """A changing provider call as the adapter issued it."""

    at: float
    cloud: str
    method: str
    instance_id: str
    outage: bool
    ok: bool = True


@dataclass
class Chaos:
    """Faults the transport adds on top of the clouds' own knobs (timeouts are not a knob)."""

    timeout_rate: dict[str, float] = field(default_factory=dict)  # cloud → share of calls timing out


class World:
    def __init__(self, start: float, seed: int = 0):
        self.clock = FakeClock(start)
        self.clouds: dict[str, SandboxCloud] = {cloud.name: cloud for cloud in all_clouds(clock=self.clock, seed=seed)}
        for cloud in self.clouds.values():
            # Prices hold still (the copied catalog stays true, spot bids included); the scenarios
            # swing prices themselves, on the Offer rows, as a pricing refresh would.
            cloud.drift.clock, cloud.drift.amplitude = self.clock, 0.0
        self.app = SandboxApp(list(self.clouds.values()), control_token="chaos-unused")
        self.chaos = Chaos()
        self.calls: list[Call] = []
        self.broken: dict[str, str] = {}  # instance id → "crash" (a restart fixes it) | "host" (nothing does)
        self.random = None  # set per scenario by the driver (timeouts draw from it)

    # --- the clouds ------------------------------------------------------------------------

    def reset(self, rng) -> None:
        for cloud in self.clouds.values():
            cloud.reset()
            cloud.random.seed(rng.random())
        self.chaos, self.calls, self.broken, self.random = Chaos(), [], {}, rng

    def outage(self, cloud: str) -> bool:
        return self.clouds[cloud].faults.outage

    def live_instances(self) -> list[tuple[str, str, str, str]]:
        """(cloud, instance id, deployment id from the tag, state) of every instance not terminated."""
        found = []
        for name, cloud in self.clouds.items():
            for instance in list(cloud.instances.values()):
                if instance.state == "terminated":
                    continue
                match = TAG.search(json.dumps(instance.spec, default=str))
                found.append((name, instance.id, match.group(1) if match else "", instance.state))
        return found

    def preempt(self, cloud: str) -> int:
        """What the preempt_spot knob does on the cloud's next read, done now and only once."""
        sim, taken = self.clouds[cloud], 0
        with sim.lock:
            for instance in sim.instances.values():
                if instance.spec.get("spot") and instance.state == "running":
                    sim.set_state(instance, "preempted")
                    taken += 1
        return taken

    # --- the transport ---------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        return _Transport(self)

    def timeout_now(self, cloud: str) -> str:
        """"" or where a timeout strikes: "before" (never sent) or "after" (applied, answer lost)."""
        rate = self.chaos.timeout_rate.get(cloud, 0.0)
        if not rate or self.random is None or self.random.random() >= rate:
            return ""
        return "before" if self.random.random() < 0.5 else "after"


class _Transport(httpx.AsyncBaseTransport):
    def __init__(self, world: World):
        self.world = world

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        path = request.url.path
        cloud = path.lstrip("/").partition("/")[0]
        strike = self.world.timeout_now(cloud)
        if strike == "before":
            raise httpx.ConnectTimeout("chaos: connect timeout", request=request)
        answer = self.world.app.dispatch(Request(
            method=request.method, path=path, query=parse_query(request.url.query.decode()),
            headers={k.lower(): v for k, v in request.headers.items()}, body=body))
        if strike == "after":
            raise httpx.ReadTimeout("chaos: read timeout", request=request)
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body, request=request)


# --- patches (this process only) ---------------------------------------------------------------


def install(world: World) -> None:
    """Point Django's clock, the adapters and the side channels at `world`."""
    from django.utils import timezone

    import computehub.realtime
    import deployments.tasks
    from computehub import http
    from providers.adapters import adapter_class, all_kinds
    from providers.adapters import base as adapter_base

    timezone.now = world.clock.now
    computehub.realtime.publish = lambda group, message: None
    deployments.tasks.async_task = lambda *args, **kwargs: None
    original_make_client = adapter_base.make_client

    def make_client(**kwargs):
        kwargs["transport"] = kwargs.get("transport") or world.transport()
        return original_make_client(**kwargs)

    adapter_base.make_client = make_client
    http._limiters.clear()

    async def wait_in_fake_time(self, seconds: float) -> None:
        world.clock.advance(min(seconds, 30.0))  # a backoff or bid poll waits in simulated time

    adapter_base.ProviderAdapter._sleep = wait_in_fake_time
    import providers.adapters.akash as akash  # waits for bids against a monotonic clock: make it ours

    akash.time = SimpleNamespace(monotonic=world.clock, time=world.clock)
    for kind in all_kinds():
        if kind == "local":
            continue
        cls = adapter_class(kind)
        cls.rate_limit = FAST
        cls.scoped_rate_limits = {scope: FAST for scope in cls.scoped_rate_limits}
        for method in CHANGING:
            if method in vars(cls) or hasattr(cls, method):
                setattr(cls, method, _recorded(world, kind, method, getattr(cls, method)))


def _recorded(world: World, kind: str, method: str, original):
    async def call(self, *args):
        record = Call(world.clock(), kind, method, "" if method == "create_instance" else str(args[0]),
                      world.outage(kind))
        world.calls.append(record)
        try:
            answer = await original(self, *args)
        except BaseException:
            record.ok = False
            raise
        if method in ("restart", "start") and world.broken.get(record.instance_id) == "crash":
            del world.broken[record.instance_id]  # the process came back with the instance
        return answer
    call.__name__ = method
    return call
