"""Offer refresh across every remote cloud: are providers asked concurrently, and does one
hanging cloud cost only its timeout?

The six remote sandbox clouds are served over real HTTP on loopback, each answering after
`LATENCY_S`. Per run:

1. each provider's `list_offers` alone, one after another → `latency_ms_<kind>`, `slowest_ms`
   (a provider whose adapter makes several calls in a row, like RunPod's one per pod size, is
   honestly that slow: it is the floor any refresh can reach);
2. the real `refresh_offers(workspace=...)` → `wall_ms`, `ratio` = wall / slowest (≈ 1 when
   providers run concurrently, ≈ 6 if they ran one after another);
3. the slowest provider hangs past a short timeout → `ratio_one_timeout` = wall / timeout, and
   `refreshed_with_one_timeout` (how many of the other five still refreshed).

Every phase gets a new workspace with new `sbx-` keys: adapters rate-limit per key fingerprint
for the life of the process, so a reused key would start a phase with a half-empty bucket and
measure our own throttle, not the refresh. Figures are medians over `RUNS`.

Runs in its own process (`python -m bench.refresh URL` prints the figures) because Django reads
DATABASE_URL once at setup and the bench must use a throwaway SQLite file, never the dev database.
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

RUNS = 3
LATENCY_S = 0.3  # per answer, on every cloud: about a real API's round trip
MIN_TIMEOUT_S = 1.0
HANG_FACTOR = 3  # the hanging cloud answers after this many timeouts: well past it


def run() -> dict:
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='chbench-')) / 'refresh.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "computehub.settings", **_throwaway_keys()}
    done = subprocess.run([sys.executable, "-m", "bench.refresh", url], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"refresh bench failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _throwaway_keys() -> dict:
    """Credentials are stored encrypted and fingerprinted; in a throwaway database, throwaway
    keys will do where the operator's are not configured (never printed, gone with the process)."""
    import base64

    def fresh() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    keys = {"COMPUTEHUB_ENCRYPTION_KEYS": f"bench:{fresh()}", "COMPUTEHUB_FINGERPRINT_KEY": fresh()}
    return {name: os.environ.get(name) or value for name, value in keys.items()}


# --- One process ---------------------------------------------------------------------------------


def _setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _serve_sandbox():
    from providers.sandbox import all_clouds
    from providers.sandbox.server import serve

    clouds = all_clouds()
    server = serve(clouds)
    return server, f"http://127.0.0.1:{server.server_port}", {cloud.name: cloud for cloud in clouds}


def _set_latency(clouds: dict, latency_s: float) -> None:
    for cloud in clouds.values():
        cloud.faults.latency_s = latency_s


def _workspace(name: str):
    """A bare workspace (no default providers: the Local one would join the refresh)."""
    from accounts.models import User, Workspace

    slug = f"{name}-{secrets.token_hex(4)}"
    user = User.objects.create(email=f"{slug}@example.com")
    return Workspace.objects.create(name=name, slug=slug, created_by=user)


def _connect_sandbox(workspace, root_url: str, kinds: list[str]) -> dict:
    """One credential per cloud, stored as the app stores sandbox accounts (encrypted with the
    row's associated data), each with a key no earlier phase used."""
    from computehub import crypto
    from providers.adapters import adapter_class
    from providers.models import ProviderCredential
    from providers.sandbox import sandbox_base_url
    from providers.services import SANDBOX_KEY_PREFIX, credential_aad

    credentials = {}
    for kind in kinds:
        key = SANDBOX_KEY_PREFIX + secrets.token_urlsafe(24)
        credential = ProviderCredential(
            workspace=workspace, provider=kind, label="Bench", is_sandbox=True,
            base_url=sandbox_base_url(root_url, kind, adapter_class(kind).default_base_url),
            last4=crypto.last4(key), fingerprint=crypto.fingerprint(key),
        )  # fmt: skip
        credential.secret = crypto.encrypt(key, aad=credential_aad(credential))
        credential.save(force_insert=True)
        credentials[kind] = credential
    return credentials


async def _list_offers_ms(credential) -> float:
    from providers.services import credential_adapter

    adapter = credential_adapter(credential)
    started = time.perf_counter()
    async with adapter:
        offers = await adapter.list_offers()
    elapsed = (time.perf_counter() - started) * 1000
    assert offers, f"{credential.provider} listed no offers"
    return elapsed


def _latencies(root_url: str, kinds: list[str]) -> dict[str, float]:
    """Each provider alone, one after another, so none competes with another for the CPU."""
    credentials = _connect_sandbox(_workspace("latency"), root_url, kinds)
    return {kind: asyncio.run(_list_offers_ms(credentials[kind])) for kind in kinds}


def _timed_refresh(root_url: str, kinds: list[str], timeout: float | None = None):
    from pricing.services import refresh_offers

    workspace = _workspace("refresh")
    _connect_sandbox(workspace, root_url, kinds)
    started = time.perf_counter()
    report = refresh_offers(workspace=workspace, timeout=timeout)
    return (time.perf_counter() - started) * 1000, report


def _one_run(root_url: str, clouds: dict, kinds: list[str]) -> dict:
    latencies = _latencies(root_url, kinds)
    slowest_kind = max(latencies, key=latencies.get)
    wall_ms, report = _timed_refresh(root_url, kinds)
    assert not report.failed, f"refresh failed without faults: {report.summary()}"

    # The slowest cloud hangs; the timeout leaves the other five room (twice the slowest of them).
    others = [ms for kind, ms in latencies.items() if kind != slowest_kind]
    timeout = max(MIN_TIMEOUT_S, round(2 * max(others) / 1000, 1))
    clouds[slowest_kind].faults.latency_s = HANG_FACTOR * timeout
    try:
        hung_wall_ms, hung = _timed_refresh(root_url, kinds, timeout=timeout)
    finally:
        clouds[slowest_kind].faults.latency_s = LATENCY_S
    slowest_ms = latencies[slowest_kind]
    return {
        **{f"latency_ms_{kind}": ms for kind, ms in latencies.items()},
        "slowest_ms": slowest_ms, "wall_ms": wall_ms, "ratio": wall_ms / slowest_ms,
        "timeout_s": timeout, "wall_ms_one_timeout": hung_wall_ms, "ratio_one_timeout": hung_wall_ms / 1000 / timeout,
        "refreshed_with_one_timeout": sum(1 for result in hung.results if result.ok),
        "offers": report.offers,
    }  # fmt: skip


def _medians(runs: list[dict]) -> dict:
    precise = {"ratio", "ratio_one_timeout", "timeout_s"}
    return {key: round(statistics.median(run[key] for run in runs), 2 if key in precise else 1) for key in runs[0]}


def _figures() -> dict:
    from providers.adapters import all_kinds

    _setup_django()
    server, root_url, clouds = _serve_sandbox()
    try:
        _set_latency(clouds, LATENCY_S)
        kinds = sorted(kind for kind in all_kinds() if kind in clouds)
        runs = [_one_run(root_url, clouds, kinds) for _ in range(RUNS)]
    finally:
        server.shutdown()
    return {"providers": len(kinds), "runs": RUNS, "latency_s": LATENCY_S, **_medians(runs)}


if __name__ == "__main__":
    os.environ["DATABASE_URL"] = sys.argv[1]  # explicit, so a stray run never writes the dev database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "computehub.settings")
    print(json.dumps(_figures()))
