"""django-q2 entry points for pricing. Thin: they call a service and return a summary."""

from django_q.tasks import async_task


def refresh_offers() -> dict:
    """Every 5 minutes (computehub/schedules.py): all workspaces, no toast."""
    from pricing.services import refresh_offers as refresh

    return _summary(refresh())


def refresh_offers_for_workspace(workspace_id) -> dict:
    """"Refresh now": one workspace, with a toast once the writes are committed."""
    from accounts.models import Workspace
    from pricing.services import refresh_offers as refresh

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:  # deleted between the click and the worker picking it up
        return {"providers": 0, "failed": 0, "offers": 0}
    return _summary(refresh(workspace=workspace, notify=True))


def refresh_offers_for_workspace_task(workspace_id) -> None:
    async_task("pricing.tasks.refresh_offers_for_workspace", workspace_id, task_name="refresh-offers")


def _summary(report) -> dict:
    # django-q stores the return value: figures only, never exception texts.
    return {"providers": len(report.results), "failed": len(report.failed), "offers": report.offers}
