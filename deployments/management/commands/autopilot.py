"""`manage.py autopilot`: the long-running loop that keeps deployments where people want them.
Run one or more next to the web and worker processes (Procfile `autopilot:`); leases keep
several of them from acting on the same deployment."""

import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from automation.autopilot import start_automation
from deployments.collectors import run_collectors
from deployments.reconciler import reconcile_orphans, sweep
from deployments.reconciler.orphans import ORPHAN_SCAN_S
from deployments.reconciler.runner import PeriodicJob, Runner
from deployments.services.spend import accrue_running_spend


def default_jobs() -> list[PeriodicJob]:
    """Add new periodic jobs here (health checks, cost meters) with their own interval."""
    return [
        PeriodicJob("reconcile", float(settings.COMPUTEHUB_RECONCILE_INTERVAL_S), sweep),
        # Checked every minute; each credential is scanned at most every ORPHAN_SCAN_S.
        PeriodicJob("orphans", min(60.0, ORPHAN_SCAN_S), reconcile_orphans),
        # The cost meter between observations, so the pages' spend moves every minute.
        PeriodicJob("spend", 60.0, accrue_running_spend),
    ]


class Command(BaseCommand):
    help = "Run the reconciler sweep and orphan scan until SIGTERM or SIGINT."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")
        parser.add_argument("--no-automation", action="store_true",
                            help="Only reconcile: no health checks, rules, notifications, budgets or jobs.")
        parser.add_argument(
            "--no-collect",
            action="store_true",
            help="Do not collect logs and metrics here. Collect in exactly one autopilot process per "
            "machine running Local deployments, or every line is stored twice.",
        )

    def handle(self, *args, once=False, no_collect=False, no_automation=False, **options):
        runner = Runner(default_jobs())
        if once:
            runner.run_due()
            return
        runner.install_signal_handlers()
        stop_background = threading.Event()
        if not no_collect:
            threading.Thread(target=run_collectors, args=(stop_background,), name="collectors", daemon=True).start()
        if not no_automation:
            start_automation(stop_background)
        self.stdout.write(f"autopilot: reconciling every {settings.COMPUTEHUB_RECONCILE_INTERVAL_S}s"
                          + ("" if no_collect else ", collecting logs and metrics"))
        try:
            runner.run_forever()
        finally:
            stop_background.set()  # also ends the automation lanes and the health checker
        self.stdout.write("autopilot: stopped")
