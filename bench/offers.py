"""Offer search at scale: 100,000 offers in one workspace, filtered and sorted top-50 queries
through `offer_search`, against a baseline that loads every offer and filters in Python.

Each database runs in its own process (`python -m bench.offers URL` prints that pass's figures),
because Django reads DATABASE_URL once at setup: a throwaway SQLite file always, and a
`computehub_bench` PostgreSQL database, created and dropped here, when DATABASE_URL is PostgreSQL.
"""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OFFERS = 100_000
RUNS = 50  # per filter set, for the database query
BASELINE_RUNS = 2  # per filter set: each run loads 100,000 rows
BENCH_DB = "computehub_bench"

# Representative searches: a model, a budget, big boxes, VRAM by $/TFLOP, one provider,
# a rare substring region, reliability, and the default page.
FILTER_SETS = [
    {},
    {"gpu": "h100-sxm"},
    {"gpu": "rtx-4090,rtx-3090", "max_price": "2", "spot": "false"},
    {"min_gpus": "8", "sort": "price"},
    {"min_vram_gb": "48", "sort": "tflop_price"},
    {"provider": "vast", "sort": "vram_price"},
    {"region": "eu-", "sort": "availability"},
    {"min_reliability": "0.98", "max_price": "3"},
]


def run() -> dict:
    figures = _pass(f"sqlite:///{Path(tempfile.mkdtemp(prefix='chbench-')) / 'offers.sqlite3'}")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        figures |= {f"{key}_postgres": value for key, value in _postgres_pass(url).items()}
    return figures


def _pass(url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "computehub.settings"}
    done = subprocess.run([sys.executable, "-m", "bench.offers", url], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, check=False)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"bench pass on {url.split('@')[-1]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _postgres_pass(url: str) -> dict:
    import psycopg

    server, _, _ = url.rpartition("/")
    admin = f"{server}/postgres".replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    try:
        return _pass(f"{server}/{BENCH_DB}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


# --- One pass, in its own process -----------------------------------------------------------------


def _setup_django():
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _populate():
    from django.utils import timezone

    from accounts.models import User, Workspace
    from pricing.gpu_specs import GPU_SPECS
    from pricing.models import Offer
    from pricing.services import ranking_columns
    from providers.models import ProviderCredential, ProviderKind

    user = User.objects.create(email="bench@example.com")
    workspace = Workspace.objects.create(name="Bench", slug="bench", created_by=user)
    kinds = [kind for kind in ProviderKind.values if kind != "local"]
    creds = [ProviderCredential.objects.create(workspace=workspace, provider=k, label=k) for k in kinds]
    rng, now = random.Random(42), timezone.now()
    # Cheaper consumer cards are far more common on marketplaces than B200s.
    models = sorted(GPU_SPECS.values(), key=lambda spec: spec.fp16_tflops)
    weights = [1 / (1 + i * 0.15) for i in range(len(models))]
    regions = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1", "ca-central", "US-TX-3", "EU-RO-1"]
    rows = []
    for n in range(OFFERS):
        spec, cred = rng.choices(models, weights)[0], rng.choice(creds)
        count = rng.choice([1, 1, 1, 2, 4, 8])
        per_gpu = spec.fp16_tflops * rng.uniform(0.0015, 0.004)
        known = rng.random() > 0.03  # a few unrecognised names: no $/TFLOP-h
        price = round(per_gpu * count, 4)
        rows.append(Offer(
            workspace=workspace, credential=cred, provider=cred.provider, offer_id=f"o{n}", region=rng.choice(regions),
            gpu_model=spec.id if known else "", gpu_name=spec.name, gpu_count=count, vram_gb=spec.vram_gb,
            vcpus=8 * count, ram_gb=32 * count, disk_gb=100, price_per_hour=price, spot=rng.random() < 0.3,
            available=rng.choice([None, 1, 2, 5, 10]), reliability=round(rng.uniform(0.85, 1.0), 3),
            fetched_at=now, **ranking_columns(price, count, spec.vram_gb, spec.id if known else None),
        ))  # fmt: skip
    Offer.objects.bulk_create(rows, batch_size=2000)
    _analyze()
    return workspace


def _analyze() -> None:
    """Planner statistics, as a live database has them (PostgreSQL's autovacuum analyzes; on
    SQLite `PRAGMA optimize` does it). Without them SQLite picks the $/h index for a GPU-model
    search and sorts thousands of rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def _time_db(workspace, filters) -> float:
    from pricing.selectors import offer_search

    started = time.perf_counter()
    list(offer_search(workspace=workspace, filters=filters)[: filters.limit])
    return (time.perf_counter() - started) * 1000


def _matches(offer, f) -> bool:
    checks = [
        not f.gpu or offer.gpu_model in f.gpu,
        f.min_gpus is None or offer.gpu_count >= f.min_gpus,
        f.min_vram_gb is None or offer.vram_gb >= f.min_vram_gb,
        f.max_price is None or offer.price_per_hour <= f.max_price,
        not f.provider or offer.provider in f.provider,
        f.spot is None or offer.spot == f.spot,
        not f.region or f.region.lower() in offer.region.lower(),
        f.min_reliability is None or (offer.reliability is not None and offer.reliability >= f.min_reliability),
    ]
    return all(checks)


_PY_SORTS = {
    "price": lambda o: (o.price_per_hour, o.id),
    "gpu_price": lambda o: (o.price_per_gpu_hour, o.id),
    "tflop_price": lambda o: (o.price_per_tflop_hour is None, o.price_per_tflop_hour or 0, o.id),
    "vram_price": lambda o: (o.price_per_vram_gb_hour is None, o.price_per_vram_gb_hour or 0, o.id),
    "availability": lambda o: (o.available is None, -(o.available or 0), o.price_per_gpu_hour, o.id),
}


def _time_baseline(workspace, filters) -> tuple[float, list[int]]:
    """The naive way: every offer of the workspace into Python, filter and sort there."""
    from pricing.selectors import offers_for_workspace

    started = time.perf_counter()
    kept = sorted((o for o in offers_for_workspace(workspace=workspace) if _matches(o, filters)),
                  key=_PY_SORTS[filters.sort])[: filters.limit]  # fmt: skip
    return (time.perf_counter() - started) * 1000, [o.id for o in kept]


def _measure(workspace) -> dict:
    from pricing.filters import parse_offer_filters
    from pricing.selectors import offer_search

    db, baseline = [], []
    for params in FILTER_SETS:
        filters = parse_offer_filters(params)
        _time_db(workspace, filters)  # warm the cache and the plan, as a running server would be
        db += [_time_db(workspace, filters) for _ in range(RUNS)]
        for _ in range(BASELINE_RUNS):
            elapsed, ids = _time_baseline(workspace, filters)
            baseline.append(elapsed)
        expected = list(offer_search(workspace=workspace, filters=filters)[: filters.limit].values_list("id", flat=True))
        assert ids == expected, f"baseline and database disagree for {params}"
    p95, base_p95 = _percentile(db, 95), _percentile(baseline, 95)
    return {"offers": OFFERS, "queries": len(db), "p50_ms": round(_percentile(db, 50), 2), "p95_ms": round(p95, 2),
            "max_ms": round(max(db), 2), "baseline_p95_ms": round(base_p95, 1), "speedup": round(base_p95 / p95, 1)}


def _one_pass() -> dict:
    _setup_django()
    started = time.perf_counter()
    workspace = _populate()
    figures = _measure(workspace)
    figures["populate_s"] = round(time.perf_counter() - started, 1)
    return figures


if __name__ == "__main__":
    os.environ["DATABASE_URL"] = sys.argv[1]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "computehub.settings")
    print(json.dumps(_one_pass()))
