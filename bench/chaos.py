"""Chaos simulation: randomized, seeded scenarios against the sandbox clouds with the autopilot's
real loops (reconciler, health checker's state machine, rules engine, operations, budgets, cost
meter, triggers) stepped on a fake clock. Each scenario launches a deployment in a fresh
workspace, switches on the policies its kind needs, injects a random mix of faults (5xx bursts,
429s, timeouts, capacity errors, outages, spot preemptions, the service dying, the worker killed
mid-action, price swings) and judges where it ended (bench/chaos_support/verdict.py) and what
was watched on the way (bench/chaos_support/observe.py).

Figures: `scenarios`, `success_rate` (goal ≥ 0.99), `duplicates`, `leaks`,
`destructive_during_outage` (goals 0), `max_overspend_intervals` (goal ≤ 1; the provider's own
outage time after the crossing left out; `max_overspend_intervals_raw` keeps it), per kind
`success_rate_<kind>`, `seconds`, `processes`.

    python -m bench chaos                      # 1,000 scenarios, seed 1 (BENCH_CHAOS_SCENARIOS / _SEED)
    python -m bench.chaos --scenarios 50 --seed 7 [--processes 2] [--failures]

Each process runs every n-th scenario on its own throwaway SQLite database."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"


def _processes() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run(scenario_count: int | None = None, seed: int | None = None, processes: int | None = None) -> dict:
    scenario_count = scenario_count or int(os.environ.get("BENCH_CHAOS_SCENARIOS") or 1000)
    seed = seed if seed is not None else int(os.environ.get("BENCH_CHAOS_SEED") or 1)
    processes = processes or _processes()
    started = time.monotonic()
    outcomes = _run_shards(scenario_count, seed, processes)
    from bench.chaos_support.report import figures, table

    print(table(outcomes))
    result = figures(outcomes) | {"seed": seed, "processes": processes,
                                  "seconds": round(time.monotonic() - started, 1)}
    _keep_failures(outcomes)
    return result


def _run_shards(scenario_count: int, seed: int, processes: int) -> list[dict]:
    folder = Path(tempfile.mkdtemp(prefix="chbench-chaos-"))
    children = []
    for index in range(processes):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.chaos_support.settings",
               "BENCH_CHAOS_DB": str(folder / f"chaos-{index}.sqlite3"), "COMPUTEHUB_VAR_DIR": str(folder),
               "PYTHONPATH": str(ROOT)}
        out, err = open(folder / f"outcomes-{index}.jsonl", "w"), open(folder / f"stderr-{index}.txt", "w")
        command = [sys.executable, "-m", "bench.chaos", "shard", str(scenario_count), str(seed), str(index),
                   str(processes)]
        children.append((subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err), out, err, index))
    for child, out, err, index in children:
        child.wait()
        out.close()
        err.close()
        if child.returncode:
            stderr = (folder / f"stderr-{index}.txt").read_text()
            raise RuntimeError(f"a chaos process failed:\n{stderr[-4000:]}")
    lines = [line for index in range(processes) for line in (folder / f"outcomes-{index}.jsonl").read_text().splitlines()]
    return sorted((json.loads(line) for line in lines if line.startswith("{")), key=lambda o: o["index"])


def _keep_failures(outcomes: list[dict]) -> None:
    """Every failed or invariant-breaking scenario, with its seed and notes, for a rerun."""
    bad = [o for o in outcomes if not o["success"] or o["duplicates"] or o["leaked_live"]
           or o["leaked_after_cleanup"] or o["destructive_during_outage"]]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chaos_failures.json").write_text(json.dumps(bad, indent=1))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", type=int, default=None, help="how many (default 1000)")
    parser.add_argument("--seed", type=int, default=None, help="the run's seed (default 1)")
    parser.add_argument("--processes", type=int, default=None, help="parallel processes (default: CPUs, ≤ 4)")
    args = parser.parse_args(argv)
    figures = run(args.scenarios, args.seed, args.processes)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "chaos.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
    print(f"chaos: {json.dumps(figures, sort_keys=True)}")
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["shard"]:
    from bench.chaos_support.runner import shard

    count, seed, index, shards = (int(v) for v in sys.argv[2:6])
    shard(scenario_count=count, seed=seed, index=index, shards=shards, every_kind="every-kind" in sys.argv[6:])
elif __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
