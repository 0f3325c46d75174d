"""The chaos simulation's invariants, kept in CI: a small seeded run (every kind of scenario, in
its own process and throwaway database, as `python -m bench chaos` runs them) must end with no
duplicate instance, no leaked instance and no destructive action during a provider outage.
Success rates and timings are the benchmark's business, not asserted here."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = 14  # two of each kind
SEED = 5


def _run(tmp_path) -> list[dict]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.chaos_support.settings",
           "BENCH_CHAOS_DB": str(tmp_path / "chaos.sqlite3"), "COMPUTEHUB_VAR_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "bench.chaos", "shard", str(SCENARIOS), str(SEED), "0", "1",
                           "every-kind"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_chaos_scenarios_leave_no_duplicates_leaks_or_destruction_in_outages(tmp_path):
    outcomes = _run(tmp_path)

    assert len(outcomes) == SCENARIOS
    assert {o["kind"] for o in outcomes} == {"restart", "failover", "spot_refill", "migration", "cost_cap",
                                             "outage", "flapping"}
    crashed = [(o["index"], o["reason"], o.get("traceback", "")[-600:]) for o in outcomes
               if str(o.get("reason", "")).startswith("error")]
    assert crashed == []
    assert [(o["index"], o["duplicates"]) for o in outcomes if o["duplicates"]] == []
    assert [(o["index"], o["leaked_live"], o["leaked_after_cleanup"]) for o in outcomes
            if o["leaked_live"] or o["leaked_after_cleanup"]] == []
    assert [(o["index"], o["destructive_during_outage"]) for o in outcomes if o["destructive_during_outage"]] == []
    outages = [o for o in outcomes if o["kind"] == "outage"]
    assert outages and all(o["success"] for o in outages), [(o["index"], o["reason"]) for o in outages]
