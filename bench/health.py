"""Health checker scale: BENCH_HEALTH_COUNT (default 10,000) monitored Local deployments, each
with an HTTP check every 30 s, probed by the real checker loop
(`automation.health.checker.run_checker`) against a small asyncio HTTP server on loopback (its
own process; several ports shared by all checks; every answer closes the connection, as a
distinct host would).

The server records when each check's path (/h/<n>) was requested, so the gaps between
consecutive checks of one deployment are measured outside the checker. Then every check is made
due at once and the checker drains them: that throughput × 30 s is the largest count it can keep
on a 30 s cadence (`max_sustained`).

Figures: `deployments`, `interval_s`, `gap_p95_s` (goal ≤ 35), `gap_p50_s`, `gap_max_s`,
`cpu_percent` (checker process CPU over the run, percent of one core), `cpu_cores`,
`checks_per_s`, `drain_checks_per_s`, `max_sustained`, `seconds`, `database`.
Overrides: BENCH_HEALTH_COUNT, BENCH_HEALTH_SECONDS (default 100), BENCH_HEALTH_PORTS (8),
BENCH_DATABASE_URL (default: a throwaway SQLite file).
"""

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERVAL_S = 30


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


# --- the loopback service (its own process) --------------------------------------------------------


class Service:
    def __init__(self):
        self.hits: dict[str, list[float]] = defaultdict(list)

    async def handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            body = json.dumps(self.stats()).encode() if path == "/__stats" else b"ok"
            if path == "/__reset":
                self.hits.clear()
            elif path.startswith("/h/"):
                self.hits[path].append(time.monotonic())
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    def stats(self) -> dict:
        gaps = [b - a for times in self.hits.values() for a, b in zip(times, times[1:])]
        return {"checked": len(self.hits), "requests": sum(map(len, self.hits.values())),
                "gap_p50_s": percentile(gaps, 50), "gap_p95_s": percentile(gaps, 95),
                "gap_max_s": max(gaps) if gaps else float("nan"), "gaps": len(gaps),
                "first": min((t[0] for t in self.hits.values()), default=0),
                "last": max((t[-1] for t in self.hits.values()), default=0)}


async def _serve(count: int) -> None:
    service = Service()
    servers = [await asyncio.start_server(service.handle, "127.0.0.1", 0, backlog=4096) for _ in range(count)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.Event().wait()


def _ask(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return json.loads(response.read()) if path == "/__stats" else {}


# --- the checker side (the child process) ----------------------------------------------------------


def _setup_django():
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _populate(count: int, ports: list[int]) -> None:
    import random
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from accounts.services import workspace_create
    from automation.models import HealthCheck, HealthState, ProbeKind
    from deployments.models import Deployment
    from providers.models import ProviderCredential

    user = User.objects.create(email="bench@example.com")
    workspace = workspace_create(name="Bench", created_by=user)
    credential = ProviderCredential.objects.create(workspace=workspace, provider="local", label="This machine")
    rows = [Deployment(workspace=workspace, credential=credential, name=f"d{n}", provider="local", offer_id="local",
                       price_per_hour=0, image="bench", ports=[8000], port_map={"8000": ports[n % len(ports)]},
                       status="running", desired_state="running") for n in range(count)]
    Deployment.objects.bulk_create(rows, batch_size=1000)
    now = timezone.now()
    # Already monitored and up: the steady state (the first two rounds would each flip new → up).
    checks = [HealthCheck(deployment=d, workspace=workspace, kind=ProbeKind.HTTP, path=f"/h/{n}", port=8000,
                          interval_s=INTERVAL_S, state=HealthState.UP, consecutive_successes=2, state_changed_at=now,
                          next_check_at=now + timedelta(seconds=random.uniform(0, INTERVAL_S)))
              for n, d in enumerate(rows)]
    HealthCheck.objects.bulk_create(checks, batch_size=1000)


def _run_checker_for(seconds: float, until=None) -> tuple[float, float]:
    """Run the real loop in a thread; returns (wall seconds, process CPU seconds)."""
    from automation.health.checker import run_checker

    stop = threading.Event()
    thread = threading.Thread(target=run_checker, args=(stop,), daemon=True)
    cpu, wall = time.process_time(), time.monotonic()
    thread.start()
    deadline = wall + seconds
    while time.monotonic() < deadline and not (until and until()):
        time.sleep(0.5)
    elapsed = time.monotonic() - wall
    stop.set()
    thread.join(60)
    return elapsed, time.process_time() - cpu


def _drain(count: int, port: int) -> float:
    """Every check due at once (and not again for an hour): how many checks per second it makes."""
    from django.utils import timezone

    from automation.models import HealthCheck

    HealthCheck.objects.update(next_check_at=timezone.now(), interval_s=3600)
    _ask(port, "/__reset")
    wall, _ = _run_checker_for(120, until=lambda: _ask(port, "/__stats")["checked"] >= count)
    stats = _ask(port, "/__stats")
    return stats["checked"] / max(wall, 1e-6)


def child() -> dict:
    count, seconds = _env("BENCH_HEALTH_COUNT", 10_000), _env("BENCH_HEALTH_SECONDS", 100)
    server = subprocess.Popen([sys.executable, "-m", "bench.health", "serve", str(_env("BENCH_HEALTH_PORTS", 8))],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ports = json.loads(server.stdout.readline())
        _setup_django()
        _populate(count, ports)
        wall, cpu = _run_checker_for(seconds)
        stats = _ask(ports[0], "/__stats")
        drain_rate = _drain(count, ports[0])
    finally:
        server.terminate()
        server.wait(10)
    from django.db import connection

    return {"deployments": count, "interval_s": INTERVAL_S, "seconds": round(wall, 1),
            "gap_p95_s": round(stats["gap_p95_s"], 2), "gap_p50_s": round(stats["gap_p50_s"], 2),
            "gap_max_s": round(stats["gap_max_s"], 2), "gaps": stats["gaps"], "checked": stats["checked"],
            "checks_per_s": round(stats["requests"] / wall, 1), "cpu_percent": round(100 * cpu / wall, 1),
            "cpu_cores": os.cpu_count(), "drain_checks_per_s": round(drain_rate, 1),
            "max_sustained": int(drain_rate * INTERVAL_S), "database": connection.vendor}


def run() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="chbench-"))
    env = {**os.environ, "COMPUTEHUB_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "computehub.settings",
           "PYTHONUNBUFFERED": "1", "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
           "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"}
    done = subprocess.run([sys.executable, "-m", "bench.health", "child"], env=env, capture_output=True, text=True,
                          cwd=ROOT, check=False)
    if done.returncode:
        raise RuntimeError(f"bench.health failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    asyncio.run(_serve(int(sys.argv[2])))
elif __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    print(json.dumps(child()))
