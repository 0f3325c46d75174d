"""Reads of the batch queue, scoped to a workspace, and the one question other areas ask:
is this deployment an attempt of a job (so policies such as spot refill leave it to the queue)?"""

from datetime import datetime

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from automation.models import Budget, BudgetPeriod, Job, JobAttempt, JobStatus, SpendDay
from providers.selectors import credentials_for_workspace

ACTIVE = (JobStatus.QUEUED, JobStatus.PLACING, JobStatus.RUNNING)


def jobs_for_workspace(*, workspace, status: str | None = None) -> QuerySet[Job]:
    jobs = Job.objects.filter(workspace=workspace).select_related("deployment", "template")
    return jobs.filter(status=status) if status else jobs


def jobs_listed(*, workspace, status: str | None = None) -> QuerySet[Job]:
    """The queue with each job's attempts (one extra query, however many jobs)."""
    attempts = Prefetch("attempt_rows", queryset=JobAttempt.objects.select_related("deployment"))
    return jobs_for_workspace(workspace=workspace, status=status).prefetch_related(attempts)


def jobs_with_last_attempt(*, workspace, status: str | None = None, limit: int = 100) -> list[Job]:
    """The newest jobs, each with `last_attempt` (its current or final try) for the queue table."""
    jobs = list(jobs_listed(workspace=workspace, status=status)[:limit])
    for job in jobs:
        attempts = list(job.attempt_rows.all())
        job.last_attempt = attempts[-1] if attempts else None
    return jobs


def job_get(*, workspace, job_id) -> Job:
    """404 for another workspace's job, exactly as for one that does not exist."""
    job = jobs_listed(workspace=workspace).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


def job_counts(*, workspace) -> dict[str, int]:
    rows = Job.objects.filter(workspace=workspace).order_by().values_list("status").annotate(n=Count("pk"))
    return {status: n for status, n in rows}


def is_job_deployment(deployment_id) -> bool:
    """True when the deployment was launched by the batch queue: the queue retries, deletes and
    reports it itself, so rules must not restart, refill or fail it over on their own."""
    return JobAttempt.objects.filter(deployment_id=deployment_id).exists()


def workspace_month_budget(*, workspace) -> Budget | None:
    return (Budget.objects.filter(workspace=workspace, deployment__isnull=True, period=BudgetPeriod.MONTH,
                                  enabled=True).order_by("limit_usd").first())


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spend(*, workspace, now=None) -> float:
    """Spend this UTC month: the budgets area's total when it is there, else the ledger's sum."""
    now = now or timezone.now()
    try:
        from automation.selectors.spend import spend_totals  # provided by the budgets area
    except ImportError:
        total = SpendDay.objects.filter(workspace=workspace, day__gte=_month_start(now).date()).aggregate(
            usd=Sum("usd", default=0.0))["usd"]
        return float(total)
    return float(spend_totals(workspace=workspace, now=now)["month"])


def connected_kinds(workspace) -> list[str]:
    """The provider kinds the workspace has a credential for: where its jobs may run."""
    return sorted(set(credentials_for_workspace(workspace=workspace).values_list("provider", flat=True)))
