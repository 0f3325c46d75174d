"""Shared setup for the adapter tests that run against the sandbox clouds over loopback HTTP.

An adapter pointed at its sandbox with backoff recorded instead of slept (`sandbox_adapter`), the
class limits raised out of the way (`fast_limits`), a clock the test moves by hand (`Clock`,
`freeze_clock`), and the `cloud` and `adapter` fixtures built from them (`cloud_fixture`,
`adapter_fixture`).
"""

import pytest

from computehub import http
from providers.sandbox import sandbox_base_url

FAST = (1000.0, 1000)  # requests per second and burst: the client-side limiter never holds a test back


def sandbox_adapter(sandbox, adapter_cls, key):
    """`adapter_cls` pointed at its sandbox cloud; its backoff waits are appended to `adapter.slept`, not waited."""
    adapter = adapter_cls(key, base_url=sandbox_base_url(sandbox.root_url, adapter_cls.kind,
                                                         adapter_cls.default_base_url))
    adapter.slept = []

    async def record(seconds):
        adapter.slept.append(seconds)

    adapter._sleep = record
    return adapter


def fast_limits(monkeypatch, adapter_cls, rate=FAST, *, scopes=(), **attrs):
    """Fresh limiter buckets (so the raised rate applies) and `rate` for the class and for each scope in
    `scopes`; any other class attribute (base_delay=..., bid_poll_s=...) is set from `attrs`."""
    monkeypatch.setattr(http, "_limiters", {})
    monkeypatch.setattr(adapter_cls, "rate_limit", rate)
    if scopes:
        monkeypatch.setattr(adapter_cls, "scoped_rate_limits", {scope: rate for scope in scopes})
    for name, value in attrs.items():
        monkeypatch.setattr(adapter_cls, name, value)


def cloud_fixture(kind, *, clock_at=None, **attrs):
    """A `cloud` fixture for a test module: sandbox cloud `kind` with each of `attrs` (boot_s=...) set on it
    and, with `clock_at`, frozen there (`freeze_clock`)."""

    @pytest.fixture
    def cloud(sandbox, monkeypatch):
        cloud = sandbox.clouds[kind]
        for name, value in attrs.items():
            monkeypatch.setattr(cloud, name, value)
        if clock_at is not None:
            freeze_clock(monkeypatch, cloud, clock_at)
        return cloud

    return cloud


def adapter_fixture(adapter_cls, key, **limits):
    """An `adapter` fixture for a test module: `sandbox_adapter(sandbox, adapter_cls, key)` opened under
    `fast_limits(monkeypatch, adapter_cls, **limits)`. It asks for the module's `cloud` fixture, so the
    sandbox is set up (clock, boot time) before the adapter talks to it."""

    @pytest.fixture
    async def adapter(sandbox, cloud, monkeypatch):
        fast_limits(monkeypatch, adapter_cls, **limits)
        async with sandbox_adapter(sandbox, adapter_cls, key) as opened:
            yield opened

    return adapter


class Clock:
    """A clock that stands still until the test moves it: `clock()` is the time, `clock.advance(s)` moves it."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def freeze_clock(monkeypatch, cloud, now):
    """Put sandbox `cloud` and its price drift on one `Clock` at `now`, also reachable as `cloud.clock_`
    (boots and drift then happen when the test advances it, not as time passes)."""
    clock = Clock(now)
    monkeypatch.setattr(cloud, "clock", clock)
    monkeypatch.setattr(cloud.drift, "clock", clock)
    monkeypatch.setattr(cloud, "clock_", clock, raising=False)  # the test moves time through it
    return clock
