"""The worker killed mid-action: a kill point armed by the scenario makes the next call through it
raise `Killed` (a BaseException, so no `except Exception` in the code under test catches it),
before or after the wrapped work. What a dead process leaves behind is then left behind: a
reconciler lease that its `finally` released is put back as a dead worker's, until it expires."""

import importlib
from datetime import timedelta

# point → (module, attribute, when): "after" means the work was done and its answer lost.
POINTS = {
    "reconcile_after_create": ("deployments.reconciler.steps", "save_created", "before"),
    "reconcile_after_call": ("deployments.reconciler.steps", "provider_call", "after"),
    "engine_before_action": ("automation.engine.processor", "run_action", "before"),
    "operation_after_launch": ("automation.orchestration.base", "note_both", "before"),
    "operation_mid_switch": ("automation.orchestration.replacement", "_delete", "before"),
    "cap_stop_request": ("automation.orchestration.cap_stop", "_request", "after"),
    "health_write": ("automation.health.claims", "write_results", "before"),
}


class Killed(BaseException):
    """The worker process died here."""


class Killer:
    def __init__(self):
        self.armed: str | None = None
        self.fired: list[str] = []
        self.stepping = None  # the deployment the reconciler is stepping (its lease is the victim's)
        self.lease_left = None  # that lease as the worker last wrote it, when it died
        for point, (module, name, when) in POINTS.items():
            target = importlib.import_module(module)
            setattr(target, name, self._wrap(point, getattr(target, name), when))
        steps = importlib.import_module("deployments.reconciler.steps")
        original_step = steps.step

        def step(deployment):
            self.stepping = deployment.pk
            return original_step(deployment)
        steps.step = step

    def arm(self, point: str) -> None:
        self.armed = point

    def _wrap(self, point: str, original, when: str):
        def wrapped(*args, **kwargs):
            if self.armed != point:
                return original(*args, **kwargs)
            self.armed = None
            self.fired.append(point)
            if when == "after":
                original(*args, **kwargs)
            self.lease_left = self._lease_now() if point.startswith("reconcile") else None
            raise Killed(point)
        return wrapped

    def _lease_now(self):
        from deployments.models import Deployment

        return Deployment.objects.filter(pk=self.stepping).values_list("lease_until", flat=True).first()

    def bury(self, now) -> None:
        """The dead reconciler never released its lease (its `finally` did, here): it holds, as
        the worker last renewed it, until it runs out."""
        from deployments.models import Deployment
        from deployments.reconciler.lease import LEASE_S

        if self.stepping is not None:
            Deployment.objects.filter(pk=self.stepping).update(
                lease_owner="dead-worker", lease_until=self.lease_left or now + timedelta(seconds=LEASE_S))
