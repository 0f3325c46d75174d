"""The health checker: a long-running loop (started in its own thread by automation/autopilot.py)
that keeps each check on a steady 30 s cadence. django-q's scheduler cannot hold that cadence,
so this loop claims due checks itself every fraction of a second.

Layout: one asyncio loop runs the probes concurrently (plain asyncio connections, a bounded
semaphore); every database call runs on one dedicated thread (Django's ORM is synchronous), in
batches: a claim, a load, a bulk write of results. Several checkers (threads or machines) can run
at once: the claim gives each due check to exactly one of them."""

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from automation.health import claims
from automation.health.probes import ProbeResult, probe_http, probe_tcp
from automation.health.targets import Target
from automation.services.health import plan_result

logger = logging.getLogger(__name__)

CLAIM_BATCH = 500
TICK_S = 0.5  # how often due checks are looked for: the most a check can be late by when idle
FLUSH_S = 0.5  # results wait at most this long to be written in a batch
ENSURE_EVERY_S = 10.0


def concurrency() -> int:
    """Probes in flight at once. A black-holed endpoint holds a slot for the whole timeout (10 s),
    so keeping 10,000 checks per 30 s through a mass outage needs about 3,400."""
    return int(getattr(settings, "COMPUTEHUB_HEALTH_CONCURRENCY", 4000))


async def probe(target: Target, timeout_s: float) -> ProbeResult | None:
    """The result for one target; None when the deployment is not probed right now."""
    if target.skip:
        return None
    if target.result is not None:
        return target.result
    if target.url:
        return await probe_http(target.url, target.path, timeout_s)
    return await probe_tcp(target.host, target.port, timeout_s)


async def _probe_batch(batch) -> list:
    semaphore = asyncio.Semaphore(concurrency())

    async def one(check, target):
        async with semaphore:
            return check, await probe(target, check.timeout_s), timezone.now()
    return await asyncio.gather(*(one(check, target) for check, target in batch))


def check_due(now=None) -> int:
    """One synchronous round (tests, scripts): claim every due check, probe them concurrently,
    write the results. Returns how many checks were made."""
    now = now or timezone.now()
    claims.ensure_checks(now=now)
    done = 0
    while batch := claims.claim_batch(now=now, limit=CLAIM_BATCH):
        results = asyncio.run(_probe_batch(batch))
        claims.write_results([(check, result, now) for check, result, _ in results])
        done += len(batch)
    return done


class Checker:
    """The loop's state: results waiting to be written, probes in flight, the database thread."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.pending: list = []
        self.in_flight = 0
        self.last_flush = self.last_ensure = 0.0
        self.wake = asyncio.Event()  # set when a result changes a state: written at once, not in a batch
        self.db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-db")

    async def on_db(self, function, *args, **kwargs):
        def call():
            close_old_connections()  # a long-lived thread must drop connections the server closed
            return function(*args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.db, call)

    async def run(self) -> None:
        self.semaphore = asyncio.Semaphore(concurrency())
        while not self.stop.is_set():
            claimed = await self._guarded(self._round)
            if claimed < CLAIM_BATCH:  # no backlog: what comes due meanwhile is claimed next tick
                await self._idle(TICK_S)
        await self._drain()
        await self.on_db(connections.close_all)
        self.db.shutdown(wait=True)

    async def _idle(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _guarded(self, step) -> int:
        try:
            return await step()
        except Exception:  # the loop must outlive a database hiccup
            logger.exception("health checker round failed")
            await asyncio.sleep(1.0)
            return 0

    async def _round(self) -> int:
        if time.monotonic() - self.last_ensure >= ENSURE_EVERY_S:
            self.last_ensure = time.monotonic()
            await self.on_db(claims.ensure_checks)
        room = min(CLAIM_BATCH, concurrency() - self.in_flight)
        batch = await self.on_db(claims.claim_batch, now=timezone.now(), limit=room) if room > 0 else []
        for check, target in batch:
            self.in_flight += 1
            asyncio.create_task(self._probe_one(check, target))
        urgent = self.wake.is_set()
        self.wake.clear()
        if self.pending and (urgent or len(self.pending) >= CLAIM_BATCH
                             or time.monotonic() - self.last_flush >= FLUSH_S):
            await self._flush()
        return len(batch)

    async def _probe_one(self, check, target: Target) -> None:
        try:
            async with self.semaphore:
                result = await probe(target, check.timeout_s)
            now = timezone.now()
            self.pending.append((check, result, now))
            if result is not None and plan_result(check, result, now).new_state is not None:
                self.wake.set()  # a flip: the rules should hear of it now (reaction time)
        except Exception:
            logger.exception("health probe of check %s failed", check.pk)
        finally:
            self.in_flight -= 1

    async def _flush(self) -> None:
        batch, self.pending, self.last_flush = self.pending, [], time.monotonic()
        await self.on_db(claims.write_results, batch)

    async def _drain(self, timeout_s: float = 12.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.pending:
            await self._guarded(self._flush)


def run_checker(stop_event: threading.Event) -> None:
    """Run until `stop_event` is set; probes in flight are finished and written before returning."""
    asyncio.run(Checker(stop_event).run())
