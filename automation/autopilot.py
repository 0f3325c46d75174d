"""Automation's share of `manage.py autopilot`: lanes of periodic jobs, each lane in its own thread
so a slow one (a notification waiting 10 s on a webhook) never delays another (a rule reacting to
a flip within 2 s), and the health checker's own loop. Jobs are named by import path and looked
up when they run, so one area failing to import cannot stop the others."""

import importlib
import threading
from collections.abc import Callable

from deployments.reconciler.runner import PeriodicJob, Runner


# How often a lane looks whether a job is due: the rules lane polls every 0.25 s so a flip is acted
# on well within the 2 s reaction target; an idle poll is one indexed query.
LANE_TICK_S = 0.1


def _lazy(module: str, function: str) -> Callable[[], object]:
    def run():
        return getattr(importlib.import_module(module), function)()
    run.__name__ = f"{module}.{function}"
    return run


def lanes() -> dict[str, list[PeriodicJob]]:
    """Lane name → its jobs (name, interval in seconds, function)."""
    return {
        # Reaction: events → rules → actions, and the operations those actions start.
        "rules": [PeriodicJob("events", 0.25, _lazy("automation.engine", "process_events")),
                  PeriodicJob("operations", 2.0, _lazy("automation.orchestration", "advance_operations"))],
        "triggers": [PeriodicJob("triggers", 15.0, _lazy("automation.triggers", "run_periodic_triggers")),
                     PeriodicJob("budgets", 10.0, _lazy("automation.services.budgets", "check_budgets"))],
        "notify": [PeriodicJob("notifications", 1.0, _lazy("automation.notify", "deliver_due"))],
        "jobs": [PeriodicJob("jobs", 3.0, _lazy("automation.jobqueue", "advance_jobs"))],
    }


def background_loops() -> list[tuple[str, Callable[[threading.Event], None]]]:
    """Long-running loops that keep their own cadence: (thread name, target(stop_event))."""
    def health(stop: threading.Event) -> None:
        importlib.import_module("automation.health.checker").run_checker(stop)
    return [("health", health)]


def start_automation(stop: threading.Event) -> list[threading.Thread]:
    threads = [threading.Thread(target=Runner(jobs, stopping=stop).run_forever, kwargs={"tick_s": LANE_TICK_S},
                                name=f"autopilot-{name}", daemon=True)
               for name, jobs in lanes().items()]
    threads += [threading.Thread(target=target, args=(stop,), name=name, daemon=True)
                for name, target in background_loops()]
    for thread in threads:
        thread.start()
    return threads
