"""django-q2 entry points for deployments. Thin: they call the reconciler and return figures."""

from django.db import transaction
from django_q.tasks import async_task


def reconcile(deployment_id) -> str:
    """One reconcile step for one deployment, queued after every change a person makes."""
    from deployments.reconciler import reconcile_deployment

    return reconcile_deployment(deployment_id)


def sweep() -> dict:
    """Every deployment whose next look is due, then the orphan scan (manage.py autopilot runs
    this loop every few seconds; this task is for running it by hand or from a schedule)."""
    from deployments.reconciler import reconcile_orphans
    from deployments.reconciler import sweep as run_sweep

    counts = run_sweep()
    return counts | {"orphans": reconcile_orphans()}


def reconcile_soon(deployment_id) -> None:
    """Queue `reconcile` once the current transaction commits (the row must be visible to the worker)."""
    transaction.on_commit(lambda: async_task("deployments.tasks.reconcile", str(deployment_id),
                                             task_name="deployment-reconcile"))
