"""Log latency: a line printed by a real Local deployment process → a WebSocket client.

Real pieces end to end: the Local adapter runs a process that prints `<n> <time.time()>` lines;
the collector runner (`deployments.collectors.run_collectors`, its own process) tails the output
file into LogChunk rows and publishes; daphne (its own process) relays them to a `websockets`
client signed in with a session cookie. Latency = client receive time − print time (one clock).

Default backend: a throwaway SQLite database and the database channel layer. With REDIS_URL set
(and DATABASE_URL, PostgreSQL) it runs on those instead and reports backend "redis".
Figures: `p50_ms`, `p95_ms`, `max_ms`, `lines`, `backend`. Goal p95 ≤ 500 ms (≤ 100 ms Redis).

`bench/fanout.py` reuses the harness here (`Stack`, `run_in_child`).
"""

import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINES_PER_S = 10
SECONDS = 10

PRINTER = """
import os, sys, time
rate, count = float(sys.argv[1]), int(sys.argv[2])
while not os.path.exists("go"):
    time.sleep(0.01)
start = time.monotonic()
for n in range(1, count + 1):
    delay = start + n / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    print(n, time.time(), flush=True)
time.sleep(3600)
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def run_in_child(module: str, *args: str) -> dict:
    """Run `python -m <module> child ...` on throwaway data; its last stdout line is the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="chbench-"))
    env = {**os.environ, "COMPUTEHUB_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": "computehub.settings",
           "COMPUTEHUB_LOCAL_PROVIDER": "1", "DEBUG": "1", "PYTHONUNBUFFERED": "1",
           "SECRET_KEY": secrets.token_urlsafe(40), **_throwaway_keys()}
    if not os.environ.get("REDIS_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    done = subprocess.run([sys.executable, "-m", module, "child", *args], env=env, capture_output=True,
                          text=True, cwd=ROOT, check=False)
    if done.returncode:
        raise RuntimeError(f"{module} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _throwaway_keys() -> dict:
    import base64

    def fresh() -> str:
        return base64.b64encode(os.urandom(32)).decode()
    keys = {"COMPUTEHUB_ENCRYPTION_KEYS": f"bench:{fresh()}", "COMPUTEHUB_FINGERPRINT_KEY": fresh()}
    return {name: os.environ.get(name) or value for name, value in keys.items()}


class Stack:
    """Inside the child: database, a signed-in user, a Local deployment running PRINTER, and
    daphne + the collector runner as subprocesses."""

    def __init__(self, rate: float, count: int):
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        self.port = _free_port()
        self.deployment, self.cookie = _deployment(rate, count)
        self.processes = []

    def start(self) -> None:
        daphne = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                  "computehub.asgi:application"]
        collect = [sys.executable, "-c", "import django, threading; django.setup(); "
                   "from deployments.collectors import run_collectors; run_collectors(threading.Event())"]
        for argv in (daphne, collect):
            self.processes.append(subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
        _wait_port(self.port)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/deployments/{self.deployment.pk}/"

    @property
    def headers(self) -> dict:
        return {"Origin": f"http://127.0.0.1:{self.port}", "Cookie": self.cookie}

    def go(self) -> None:
        from providers.services import credential_adapter

        path = credential_adapter(self.deployment.credential).log_path(self.deployment.instance_id)
        (path.parent / "work" / "go").touch()

    def stop(self) -> None:
        from asgiref.sync import async_to_sync

        from providers.services import credential_adapter

        for proc in self.processes:
            proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        async_to_sync(credential_adapter(self.deployment.credential).terminate)(self.deployment.instance_id)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("daphne did not start")


def _deployment(rate: float, count: int):
    from asgiref.sync import async_to_sync
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from importlib import import_module

    from accounts.models import User
    from accounts.services import workspace_create
    from deployments.models import Deployment
    from providers.adapters.base import InstanceSpec
    from providers.services import credential_adapter, workspace_connect_defaults

    user = User.objects.create_user(email=f"bench-{secrets.token_hex(4)}@example.com", password=secrets.token_hex(16))
    workspace = workspace_create(name="Bench", created_by=user)
    workspace_connect_defaults(workspace=workspace)  # no-op where creating the workspace did it
    credential = workspace.credentials.get(provider="local")
    deployment = Deployment.objects.create(workspace=workspace, credential=credential, provider="local", name="bench",
                                           offer_id="local", price_per_hour=0, image="", status="running")
    spec = InstanceSpec(deployment_id=deployment.pk, name="bench", offer_id="local", image="",
                        command=(sys.executable, "-c", PRINTER, str(rate), str(count)))
    deployment.instance_id = async_to_sync(credential_adapter(credential).create_instance)(spec).instance_id
    deployment.save(update_fields=["instance_id"])
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                    HASH_SESSION_KEY: user.get_session_auth_hash()})
    session.save()
    return deployment, f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def backend() -> str:
    return "redis" if os.environ.get("REDIS_URL") else "default"


async def viewer(stack: Stack, count: int, latencies: list, record: dict, deadline: float) -> None:
    """One WebSocket viewer: records each line's latency and its seqs (for loss and order)."""
    import websockets

    seqs = record.setdefault("seqs", [])
    async with websockets.connect(stack.ws_url, additional_headers=stack.headers, max_size=None) as socket:
        record["connected"] = True
        while len(seqs) < count and time.monotonic() < deadline:
            try:
                message = json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic()))
            except TimeoutError:
                return
            if message["type"] == "logs":
                now = time.time()
                for text in message["lines"]:
                    n, printed = text.split(" ")
                    seqs.append(int(n))
                    latencies.append((now - float(printed)) * 1000)


async def _measure(stack: Stack) -> list[float]:
    latencies, record = [], {}
    count = LINES_PER_S * SECONDS
    task = asyncio.create_task(viewer(stack, count, latencies, record, time.monotonic() + SECONDS + 30))
    while not record.get("connected"):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # the collector has listed the deployment
    stack.go()
    await task
    return latencies


def child() -> dict:
    stack = Stack(LINES_PER_S, LINES_PER_S * SECONDS)
    try:
        stack.start()
        latencies = asyncio.run(_measure(stack))
    finally:
        stack.stop()
    return {"p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(percentile(latencies, 95), 1),
            "max_ms": round(max(latencies), 1), "lines": len(latencies), "backend": backend()}


def run() -> dict:
    return run_in_child("bench.logs")


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    print(json.dumps(child()))
