"""The reconciler (DESIGN.md §3.5, reliability.md §4.4–4.5): level-triggered, one idempotent
step per call. `reconcile_deployment` claims the deployment's lease, observes, acts once,
records events, schedules its next look and releases; `sweep` runs it for every deployment
whose time has come; `reconcile_orphans` cleans tagged instances nobody owns."""

from deployments.reconciler.orphans import reconcile_orphans
from deployments.reconciler.run import reconcile_deployment, sweep

__all__ = ["reconcile_deployment", "reconcile_orphans", "sweep"]
