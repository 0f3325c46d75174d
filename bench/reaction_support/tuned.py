"""`python -m bench.reaction_support.tuned`: `manage.py autopilot --no-collect` with the timings the
bench's report proposes (an experiment, never used by default): the health checker looks for due
checks and writes results every 0.1 s instead of 0.5 s, and the rules engine's events job runs
every 0.25 s on a 0.1 s tick instead of 1 s on a 0.5 s tick."""

import django


def main() -> None:
    django.setup()
    from django.core.management import call_command

    from automation import autopilot
    from automation.health import checker
    from deployments.reconciler.runner import PeriodicJob, Runner

    checker.TICK_S = checker.FLUSH_S = 0.1
    Runner.run_forever.__kwdefaults__["tick_s"] = 0.1
    shipped = autopilot.lanes

    def lanes():
        found = shipped()
        found["rules"] = [PeriodicJob(j.name, 0.25 if j.name == "events" else j.interval_s, j.run)
                          for j in found["rules"]]
        return found
    autopilot.lanes = lanes
    call_command("autopilot", "--no-collect")


if __name__ == "__main__":
    main()
