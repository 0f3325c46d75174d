"""A tiny loop of periodic jobs for the long-running `manage.py autopilot` process (the
healthchecks `sendalerts` pattern, reliability.md §4.5: django-q's scheduler cannot keep a
steady 10–30 s cadence). Each job runs when its interval has passed; a failing job is logged and
the loop goes on; SIGTERM/SIGINT end it after the job in progress."""

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[], object]
    next_at: float = field(default=0.0)


class Runner:
    def __init__(self, jobs: list[PeriodicJob], *, clock=time.monotonic, stopping: threading.Event | None = None):
        self.jobs, self.clock = jobs, clock
        self.stopping = stopping or threading.Event()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())

    def run_due(self) -> None:
        for job in self.jobs:
            if self.stopping.is_set() or self.clock() < job.next_at:
                continue
            job.next_at = self.clock() + job.interval_s
            self._run_one(job)

    def _run_one(self, job: PeriodicJob) -> None:
        close_old_connections()  # a long-lived process must drop connections the server closed
        started = self.clock()
        try:
            result = job.run()
        except Exception:
            logger.exception("autopilot job %s failed", job.name)
            return
        logger.debug("autopilot %s: %s in %.0f ms", job.name, result, (self.clock() - started) * 1000)

    def run_forever(self, *, tick_s: float = 0.5) -> None:
        while not self.stopping.is_set():
            self.run_due()
            self.stopping.wait(tick_s)
