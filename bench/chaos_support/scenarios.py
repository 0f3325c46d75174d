"""Randomized scenarios, each drawn from its own seed: a kind (what goes wrong and which policy
should answer it), where the deployment runs, and a timeline of faults (windows of 5xx, 429s,
timeouts, capacity errors, outages) and happenings (the service dying, a spot preemption, a price
swing, a worker killed at some point of an action)."""

import random
from dataclasses import dataclass, field

KINDS = ("restart", "failover", "spot_refill", "migration", "cost_cap", "outage", "flapping")
WEIGHTS = (18, 16, 14, 16, 14, 14, 8)
RESTARTABLE = ("runpod", "vast", "lambda", "paperspace")
STOPPABLE = ("runpod", "vast", "paperspace", "tensordock")
# GPU models listed by several providers (on-demand), so failover and migration have somewhere to go.
SHARED_GPUS = {"rtx-a6000": ("runpod", "lambda", "tensordock", "akash", "paperspace"),
               "h100-sxm": ("runpod", "vast", "tensordock", "akash", "paperspace"),
               "rtx-4090": ("runpod", "vast", "tensordock", "akash"),
               "a100-80gb": ("runpod", "vast", "tensordock", "akash", "paperspace"),
               "rtx-3090": ("runpod", "vast", "tensordock", "akash")}
SPOT_GPUS = {"runpod": ("rtx-a6000", "h100-sxm", "rtx-4090", "a100-80gb", "rtx-3090", "l40s"),
             "vast": ("h100-sxm", "rtx-4090", "a100-80gb", "rtx-3090")}
CLOUDS = ("akash", "lambda", "paperspace", "runpod", "tensordock", "vast")
KILL_POINTS = ("reconcile_after_create", "reconcile_after_call", "engine_before_action", "operation_after_launch",
               "operation_mid_switch", "cap_stop_request", "health_write")


@dataclass
class Fault:
    start: float
    end: float
    cloud: str
    knob: str  # error_rate | rate_limit_every | timeout_rate | capacity_error | outage
    value: object

    def active(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass
class Happening:
    at: float
    what: str  # die_crash | die_host | preempt | price_drop | price_back | kill | service_flap
    arg: object = None


@dataclass
class Spec:
    index: int
    seed: int
    kind: str
    provider: str
    gpu: str
    spot: bool = False
    probe: str = "http"  # http: the service answers (simulated); provider: the provider's status
    policies: dict = field(default_factory=dict)  # slug → params
    faults: list[Fault] = field(default_factory=list)
    happenings: list[Happening] = field(default_factory=list)
    horizon: float = 900.0  # faults end here; then the loops settle
    params: dict = field(default_factory=dict)  # kind-specific figures (cap, saving, ...)

    @property
    def killed(self) -> bool:
        return any(h.what == "kill" for h in self.happenings)


def generate(index: int, seed: int, *, every_kind: bool = False) -> Spec:
    """Scenario `index` of the run with `seed`; `every_kind` takes the kinds in turn (small runs
    then cover each of them) instead of drawing them by weight."""
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choices(KINDS, WEIGHTS)[0]
    if every_kind:
        kind = KINDS[index % len(KINDS)]
    spec = _BUILDERS[kind](index, rng.randrange(1 << 30), rng)
    _transient_faults(spec, rng)
    _kills(spec, rng)
    spec.happenings.sort(key=lambda h: h.at)
    return spec


def _pick_shared(rng, providers=None) -> tuple[str, str]:
    gpu = rng.choice(sorted(SHARED_GPUS))
    choices = [p for p in SHARED_GPUS[gpu] if providers is None or p in providers]
    return gpu, rng.choice(choices) if choices else rng.choice(providers)


def _restart(index, seed, rng) -> Spec:
    gpu, provider = _pick_shared(rng, RESTARTABLE)
    spec = Spec(index, seed, "restart", provider, gpu, policies={"auto_restart": {}}, horizon=560)
    spec.happenings.append(Happening(rng.uniform(120, 300), "die_crash"))
    return spec


def _failover(index, seed, rng) -> Spec:
    gpu, provider = _pick_shared(rng, RESTARTABLE)
    with_restart = rng.random() < 0.5
    policies = {"failover": {}} | ({"auto_restart": {}} if with_restart else {})
    spec = Spec(index, seed, "failover", provider, gpu, policies=policies, horizon=1300 if with_restart else 760,
                params={"with_restart": with_restart})
    spec.happenings.append(Happening(rng.uniform(120, 240), "die_host"))
    return spec


def _spot_refill(index, seed, rng) -> Spec:
    provider = rng.choice(sorted(SPOT_GPUS))
    gpu = rng.choice(SPOT_GPUS[provider])
    params = {"max_failures": rng.choice((1, 2, 3))}
    spec = Spec(index, seed, "spot_refill", provider, gpu, spot=True, policies={"spot_refill": params}, horizon=600)
    first = rng.uniform(120, 240)
    spec.happenings.append(Happening(first, "preempt"))
    if rng.random() < 0.4:  # the refilled instance is taken away too
        spec.happenings.append(Happening(first + rng.uniform(60, 200), "preempt"))
    return spec


def _migration(index, seed, rng) -> Spec:
    gpu, provider = _pick_shared(rng)
    minutes = rng.choice((1, 2, 3))
    variant = rng.choices(("move", "unhealthy_target", "swing_back"), (6, 2, 2))[0]
    spec = Spec(index, seed, "migration", provider, gpu, policies={"price_migration": {"minutes": minutes}},
                horizon=700 if variant != "unhealthy_target" else 1400,
                params={"variant": variant, "minutes": minutes, "saving": rng.uniform(0.25, 0.5)})
    drop = rng.uniform(90, 200)
    spec.happenings.append(Happening(drop, "price_drop"))
    if variant == "swing_back":
        spec.happenings.append(Happening(drop + rng.uniform(0.2, 0.6) * minutes * 60, "price_back"))
    return spec


def _cost_cap(index, seed, rng) -> Spec:
    gpu, provider = _pick_shared(rng, STOPPABLE)
    spec = Spec(index, seed, "cost_cap", provider, gpu, probe=rng.choice(("http", "provider")),
                policies={"cost_cap": {"action": "stop"}}, horizon=720, params={"cap_minutes": rng.uniform(4, 9)})
    return spec


def _outage(index, seed, rng) -> Spec:
    gpu, provider = _pick_shared(rng, RESTARTABLE)
    policies = {"auto_restart": {}, "failover": {}}
    spec = Spec(index, seed, "outage", provider, gpu, probe=rng.choice(("http", "provider")), policies=policies,
                horizon=1100)
    start = rng.uniform(90, 200)
    spec.faults.append(Fault(start, start + rng.uniform(180, 780), provider, "outage", True))
    return spec


def _flapping(index, seed, rng) -> Spec:
    gpu, provider = _pick_shared(rng, RESTARTABLE)
    spec = Spec(index, seed, "flapping", provider, gpu, policies={"auto_restart": {}, "failover": {}}, horizon=620)
    at = rng.uniform(100, 160)
    for _ in range(rng.randint(3, 4)):  # one failed probe, then good ones: never three in a row
        spec.happenings.append(Happening(at, "service_flap"))
        at += rng.uniform(70, 100)
    return spec


_BUILDERS = {"restart": _restart, "failover": _failover, "spot_refill": _spot_refill, "migration": _migration,
             "cost_cap": _cost_cap, "outage": _outage, "flapping": _flapping}


def _transient_faults(spec: Spec, rng) -> None:
    """A random mix of 5xx bursts, 429s, timeouts, capacity errors and (now and then) a short
    outage, on the deployment's cloud and on others, all inside the scenario's active time."""
    for _ in range(rng.randint(1, 4)):
        cloud = spec.provider if rng.random() < 0.6 else rng.choice(CLOUDS)
        start = rng.uniform(60, spec.horizon - 60)
        end = min(spec.horizon, start + rng.uniform(20, 180))
        knob = rng.choice(("error_rate", "rate_limit_every", "timeout_rate", "capacity_error"))
        value = {"error_rate": rng.uniform(0.2, 0.8), "rate_limit_every": rng.randint(2, 4),
                 "timeout_rate": rng.uniform(0.1, 0.4), "capacity_error": True}[knob]
        spec.faults.append(Fault(start, end, cloud, knob, value))
    if spec.kind != "outage" and rng.random() < 0.2:
        cloud = spec.provider if rng.random() < 0.5 else rng.choice(CLOUDS)
        start = rng.uniform(60, spec.horizon - 120)
        spec.faults.append(Fault(start, min(spec.horizon, start + rng.uniform(60, 240)), cloud, "outage", True))


def _kills(spec: Spec, rng) -> None:
    if rng.random() < 0.35:
        for _ in range(rng.randint(1, 2)):
            spec.happenings.append(Happening(rng.uniform(60, spec.horizon - 60), "kill", rng.choice(KILL_POINTS)))
