"""Reaction time: from an endpoint that stops answering to the deployment answering again, with
the real moving parts running concurrently as in production.

Processes: this bench (the sandbox clouds Vast.ai and RunPod served over loopback HTTP, and the
service every instance runs, on loopback: bench/reaction_support/world.py), `manage.py autopilot
--no-collect` (the health checker loop, the rules and operations lanes, the reconciler sweep) and
`manage.py qcluster` (the worker running the reconcile queued after each action), as the Procfile
starts them, all on one throwaway database.

Setup: DEPLOYMENTS = incidents + failovers + bystanders, launched through deployment_create and
driven to running by the reconciler, each with an HTTP health check on its endpoint every
`interval_s` (shipped: 30 s; shortened on the HealthCheck row so the run stays short: detection
takes 2–3 intervals by design) and the auto_restart policy (failover sources also the failover
policy, with auto-restart at 1 an hour and no cooldown so "restart did not help" escalates at the
first still_down event, which comes after COMPUTEHUB_STILL_DOWN_S = 10 s instead of 180 s).
Then at staggered random moments within `window_s` the bench makes endpoints answer 503: for a
restart incident until the instance's next restart, for a failover incident for good.

Per incident (bench/reaction_support/timeline.py, report.py): detection (failure → the down flip written),
decision (the 3rd failed probe, as answered by the endpoint → the restart call RECEIVED by the
sandbox; split into the flip write, the engine's decision = restart_requested_at, and the worker
waking), provider time (call received → the check up again: instance reboot `boot_s` + two good
probes). Failover: still_down → the replacement's launch received by the other cloud (decision),
→ replacement running, first probed, healthy, switched.

Figures (flat JSON in bench/results/reaction.json; every incident in reaction_incidents.json):
`p95_decision_ms` (goal ≤ 2000), `p50_decision_ms`, `max_decision_ms`, `p95_flip_write_ms`,
`p95_engine_ms`, `p95_wake_ms`, `detect_s` / `detect_p95_s`, `provider_s` / `provider_p95_s`,
`total_s` / `total_p95_s`, `failover_*`, and the settings used (`interval_s`, `still_down_s`,
`boot_s`, `reconcile_interval_s`, `worker`, `database`).

Run: `python -m bench reaction` (or `make bench NAME=reaction`); options via
`python -m bench.reaction --incidents 24 --failovers 4 --bystanders 6 --interval 2 --window 60
[--no-worker] [--tuned]` or BENCH_REACTION_INCIDENTS / _FAILOVERS / _BYSTANDERS / _INTERVAL_S /
_WINDOW_S / _WORKER=0 / _TUNED=1 (`python -m bench NAME` takes no options). `--no-worker` runs
without qcluster: actions then wait for the reconciler sweep. `--tuned` is an experiment: the
autopilot with the shorter checker and rules-lane timings proposed in the report
(bench/reaction_support/tuned.py); the shipped timings otherwise.
PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/chub_reaction (any database
on that server); the bench creates a fresh database `<name>_reaction_<hex>` next to it, runs
there, and drops it at the end. Default: a throwaway SQLite file.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.logs import _throwaway_keys

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
OPTIONS = {"incidents": ("BENCH_REACTION_INCIDENTS", 24), "failovers": ("BENCH_REACTION_FAILOVERS", 4),
           "bystanders": ("BENCH_REACTION_BYSTANDERS", 6), "interval": ("BENCH_REACTION_INTERVAL_S", 2),
           "window": ("BENCH_REACTION_WINDOW_S", 60), "worker": ("BENCH_REACTION_WORKER", 1),
           "tuned": ("BENCH_REACTION_TUNED", 0)}
SEED = 5  # the incidents' moments: the same schedule every run
TAIL_S = 100  # after the last break, how long incidents may take to end


def options() -> dict:
    return {name: int(os.environ.get(var) or default) for name, (var, default) in OPTIONS.items()}


# --- the child: one run -----------------------------------------------------------------------------


def _setup(world, opts):
    import django
    from django.core.management import call_command

    from bench.reaction_support import setup

    os.environ["COMPUTEHUB_SANDBOX_URL"] = world.url
    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    workspace, user = setup.workspace_with_offers()
    picked = setup.pick_offers(workspace, restarts=opts["incidents"], failovers=opts["failovers"],
                               bystanders=opts["bystanders"])
    planned = setup.launch_all(workspace, user, picked)
    setup.drive_to_running(planned)
    setup.health_checks(planned, opts["interval"], timeout_s=2.0)
    setup.policies(workspace, user, planned)
    setup.forget_queued_tasks()
    return planned


def _wait_all_up(planned, procs, timeout_s: float = 60) -> None:
    from automation.models import HealthCheck, HealthState

    ids = [p.deployment_id for p in planned]
    deadline = time.monotonic() + timeout_s
    while HealthCheck.objects.filter(deployment_id__in=ids).exclude(state=HealthState.UP).exists():
        procs.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"health checks never all came up:\n{procs.tail('autopilot')}")
        time.sleep(0.5)


def _schedule(planned, opts, rng: random.Random) -> list[tuple[float, object]]:
    """(seconds from now, planned) per incident: failovers early (they take longest)."""
    early = max(1.0, min(15.0, opts["window"] / 3))
    moments = [(rng.uniform(0, early) if p.role == "failover" else rng.uniform(0, opts["window"]), p)
               for p in planned if p.role != "bystander"]
    return sorted(moments, key=lambda m: m[0])


def _inject(planned, opts, world, procs) -> list:
    from bench.reaction_support.timeline import Incident
    from deployments.models import Deployment

    rows = {str(d.pk): d for d in Deployment.objects.filter(pk__in=[p.deployment_id for p in planned])}
    incidents, start = [], time.monotonic()
    for offset, plan in _schedule(planned, opts, random.Random(SEED)):
        time.sleep(max(0.0, start + offset - time.monotonic()))
        procs.check_alive()
        d = rows[plan.deployment_id]
        key = (d.provider, d.instance_id)
        failed_at = world.services.break_it(key, "sticky" if plan.role == "failover" else "restart")
        incidents.append(Incident(plan.deployment_id, plan.role, d.name, d.provider, key, failed_at))
    return incidents


def _wait_done(incidents, procs) -> None:
    from bench.reaction_support.timeline import finished

    deadline = time.monotonic() + TAIL_S
    waiting = list(incidents)
    while waiting and time.monotonic() < deadline:
        procs.check_alive()
        waiting = [i for i in waiting if not finished(i)]
        time.sleep(1.0)


def child() -> dict:
    from django.db import connections

    from bench.reaction_support import report, timeline
    from bench.reaction_support.stack import Processes
    from bench.reaction_support.world import World

    opts, began = options(), time.monotonic()
    world = World(pool=opts["incidents"] + 2 * opts["failovers"] + opts["bystanders"] + 10)
    procs = Processes(Path(os.environ["COMPUTEHUB_VAR_DIR"]), worker=bool(opts["worker"]), tuned=bool(opts["tuned"]))
    try:
        planned = _setup(world, opts)
        connections.close_all()
        procs.start()
        _wait_all_up(planned, procs)
        incidents = _inject(planned, opts, world, procs)
        _wait_done(incidents, procs)
    finally:
        procs.stop()
    incidents = [timeline.read(i, world.services) for i in incidents]
    world.stop()
    for line in report.table(incidents):
        print(line)
    report.write_incidents(incidents, RESULTS / "reaction_incidents.json")
    return report.figures(incidents, opts, world.boot_s, time.monotonic() - began)


# --- the parent: a throwaway world per run -----------------------------------------------------------


def run() -> dict:
    from bench.reaction_support.stack import SETTINGS, database_url, drop_database

    tmp = Path(tempfile.mkdtemp(prefix="chbench-reaction-"))
    url, created = database_url(tmp)
    env = {**os.environ, "COMPUTEHUB_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE": SETTINGS, "PYTHONUNBUFFERED": "1",
           "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40), "DATABASE_URL": url,
           **_throwaway_keys()}
    try:
        done = subprocess.run([sys.executable, "-m", "bench.reaction", "child"], env=env, capture_output=True,
                              text=True, cwd=ROOT, check=False)
    finally:
        drop_database(created)
    if done.returncode:
        raise RuntimeError(f"bench.reaction failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}\nlogs in {tmp}")
    shutil.rmtree(tmp, ignore_errors=True)  # kept on failure: the processes' logs are there
    lines = done.stdout.strip().splitlines()
    print("\n".join(lines[:-1]))
    return json.loads(lines[-1])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reaction", description="Reaction-time benchmark.")
    for name, (var, default) in OPTIONS.items():
        if name not in ("worker", "tuned"):
            parser.add_argument(f"--{name}", type=int, default=int(os.environ.get(var) or default))
    parser.add_argument("--no-worker", action="store_true", help="no qcluster: actions wait for the sweep")
    parser.add_argument("--tuned", action="store_true", help="the autopilot with the timings the report proposes")
    args = parser.parse_args(argv)
    flags = {"worker": int(not args.no_worker), "tuned": int(args.tuned)}
    for name, (var, _) in OPTIONS.items():
        os.environ[var] = str(flags[name] if name in flags else getattr(args, name))
    from bench.__main__ import run_one

    run_one("reaction")
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    print(json.dumps(child()))
elif __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
