"""One scenario from launch to cleanup, and a shard of scenarios in one process."""

import json
import random
import sys
import time
import traceback

from bench.chaos_support import scenarios, verdict
from bench.chaos_support.driver import Driver
from bench.chaos_support.killer import Killer
from bench.chaos_support.setup import Env, configure, django_ready, launch


def reconcile_orphans(**kwargs):
    from deployments.reconciler import reconcile_orphans as scan

    return scan(**kwargs)

LAUNCH_S = 60.0  # the person's launch settles before the chaos starts


def run_scenario(env: Env, killer: Killer, spec: scenarios.Spec) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    env.world.reset(random.Random(spec.seed))
    killer.armed, killer.fired = None, []
    workspace = env.workspace(spec)
    deployment = launch(env, workspace, spec)
    _follow_provider(spec, deployment.provider)
    configure(env, workspace, deployment, spec)
    driver = Driver(env.world, killer, spec, workspace, env.user)
    driver.original_faults = list(spec.faults)
    outcome = {"index": spec.index, "kind": spec.kind, "seed": spec.seed, "provider": deployment.provider,
               "killed": spec.killed, "variant": spec.params.get("variant", "")}
    try:
        driver.run_until(LAUNCH_S, stop=lambda: driver.observer.quiet() and driver.t() >= 20)
        _before_chaos(driver, deployment)
        driver.run_until(spec.horizon)
        settled = driver.settle()
        judged = verdict.judge(driver, deployment)
        outcome |= {"success": judged.success, "reason": judged.reason, "settled": settled}
        raw, adjusted = verdict.overspend_intervals(driver, deployment)
        outcome |= {"overspend_raw": raw, "overspend": adjusted}
        driver.lane(lambda: reconcile_orphans(force=True))  # its 5-minute scan would have run by now
        outcome["leaked_live"] = verdict.leaks(driver)
        driver.cleanup()
        outcome["leaked_after_cleanup"] = verdict.leaks(driver)
    except Exception as exc:  # a scenario that blew up is a failure with its traceback, not a lost run
        outcome |= {"success": False, "reason": f"error: {type(exc).__name__}: {exc}"[:200],
                    "traceback": traceback.format_exc()[-3000:], "leaked_live": [], "leaked_after_cleanup": []}
    observer = driver.observer
    _forget(workspace)
    return outcome | {"duplicates": sorted(observer.tag_duplicates | observer.double_running),
                      "destructive_during_outage": observer.destructive,
                      "legit_in_outage": observer.legit_in_outage, "kills": driver.kills,
                      "kills_fired": list(killer.fired), "ticks": driver.ticks, "sim_s": round(driver.t()),
                      "wall_s": round(time.perf_counter() - started, 3),
                      "cpu_s": round(time.process_time() - cpu, 3), "notes": observer.notes[-12:]}


def _forget(workspace) -> None:
    """The finished scenario's rows go, so every lane of the next one sees only its own (the
    lanes scan all workspaces, as they must in production)."""
    from django_q.models import OrmQ

    from deployments.models import Deployment

    Deployment.objects.filter(workspace=workspace).delete()
    workspace.delete()
    OrmQ.objects.all().delete()


def _follow_provider(spec: scenarios.Spec, provider: str) -> None:
    """The offer picked may be on another cloud than drawn (that cloud does not list the GPU)."""
    if provider != spec.provider:
        for fault in spec.faults:
            if fault.cloud == spec.provider:
                fault.cloud = provider
        spec.provider = provider


def _before_chaos(driver: Driver, deployment) -> None:
    """Figures the verdict needs from the calm state (the migration's "already cheaper")."""
    if driver.spec.kind != "migration":
        return
    from automation.selectors.offers import equivalent_offers, saving_percent

    deployment.refresh_from_db()
    min_saving = 20.0
    offers = equivalent_offers(deployment=deployment, spot=deployment.spot)
    driver.spec.params |= {"min_saving": min_saving, "pre_cheaper": any(
        saving_percent(deployment.price_per_hour, o.price_per_hour) >= min_saving for o in offers)}


def shard(*, scenario_count: int, seed: int, index: int, shards: int, every_kind: bool = False,
          out=sys.stdout) -> None:
    """Run every `shards`-th scenario starting at `index`; one JSON line per outcome."""
    django_ready()
    env = Env(seed * 100 + index)
    killer = Killer()
    for number in range(index, scenario_count, shards):
        spec = scenarios.generate(number, seed, every_kind=every_kind)
        out.write(json.dumps(run_scenario(env, killer, spec)) + "\n")
        out.flush()
