"""What a workspace and its deployments have spent, live: the ledger (what the cost meter has
billed, per UTC day) plus the running time since the meter last moved (price × elapsed), so a
budget crossing shows within seconds rather than at the next minute's accrual.

The ledger sums and each deployment's meter are read in ONE statement, so an accrual landing
meanwhile can neither be counted twice (ledger and live) nor missed."""

from dataclasses import dataclass
from datetime import date, timedelta
from datetime import timezone as dt_timezone

from django.db.models import FloatField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from automation.models import Budget, BudgetPeriod, SpendDay
from deployments.models import Deployment, Status
from deployments.services.spend import SECONDS_PER_HOUR, day_slices, meter_start

FIGURES = ("today", "month", "total")
# Which figure a budget's period is measured against.
PERIOD_FIGURE = {BudgetPeriod.TOTAL: "total", BudgetPeriod.DAY: "today", BudgetPeriod.MONTH: "month"}


def utc_today(now) -> date:
    return now.astimezone(dt_timezone.utc).date()


def period_key(period: str, now) -> str:
    """Names the budget period `now` falls in: "total", "2026-11-29" or "2026-11"."""
    today = utc_today(now)
    return {BudgetPeriod.TOTAL: "total", BudgetPeriod.DAY: today.isoformat(),
            BudgetPeriod.MONTH: today.strftime("%Y-%m")}[period]


def _ledger_sum(since: date, until: date):
    rows = (SpendDay.objects.filter(deployment=OuterRef("pk"), day__gte=since, day__lte=until)
            .values("deployment").annotate(usd_sum=Sum("usd")).values("usd_sum"))
    return Coalesce(Subquery(rows, output_field=FloatField()), 0.0, output_field=FloatField())


def _with_ledger(rows: QuerySet, today: date) -> QuerySet:
    return rows.annotate(ledger_today=_ledger_sum(today, today),
                         ledger_month=_ledger_sum(today.replace(day=1), today))


def live_by_day(row: Deployment, now) -> dict[date, float]:
    """What `row` has cost since its meter last moved, per UTC day (nothing unless it runs)."""
    start = meter_start(row) if row.status == Status.RUNNING else None
    if start is None or now <= start:
        return {}
    return {day: row.price_per_hour * seconds / SECONDS_PER_HOUR for day, seconds in day_slices(start, now)}


def _figures(row: Deployment, now, today: date) -> dict[str, float]:
    live = live_by_day(row, now)
    in_month = sum(usd for day, usd in live.items() if day >= today.replace(day=1))
    return {"today": row.ledger_today + live.get(today, 0.0), "month": row.ledger_month + in_month,
            "total": row.spend_usd + sum(live.values())}


def deployment_figures(*, workspace, deployment=None, now=None) -> list[tuple[Deployment, dict]]:
    """(deployment, {"today", "month", "total"}) for each deployment of `workspace` (or just one)."""
    now = now or timezone.now()
    today = utc_today(now)
    rows = Deployment.objects.filter(workspace=workspace)
    if deployment is not None:
        rows = rows.filter(pk=deployment.pk)
    rows = _with_ledger(rows.order_by("name", "pk"), today)
    return [(row, _figures(row, now, today)) for row in rows]


def spend_totals(*, workspace, deployment=None, now=None) -> dict[str, float]:
    """USD spent today, this month (UTC) and in total, live, by one deployment or the workspace."""
    figures = [values for _, values in deployment_figures(workspace=workspace, deployment=deployment, now=now)]
    return {name: sum(values[name] for values in figures) for name in FIGURES}


def spend_by_day(*, workspace, days: int = 30, now=None) -> list[tuple[date, float]]:
    """The workspace's spend per UTC day, oldest first, the last `days` days (today live)."""
    now = now or timezone.now()
    first = utc_today(now) - timedelta(days=days - 1)
    totals = dict.fromkeys((first + timedelta(days=n) for n in range(days)), 0.0)
    ledger = (SpendDay.objects.filter(workspace=workspace, day__gte=first).values("day")
              .annotate(usd_sum=Sum("usd")).values_list("day", "usd_sum"))
    for day, usd in ledger:
        if day in totals:
            totals[day] += usd
    for row in Deployment.objects.filter(workspace=workspace, status=Status.RUNNING):
        for day, usd in live_by_day(row, now).items():
            if day in totals:
                totals[day] += usd
    return list(totals.items())


# --- budgets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetProgress:
    budget: Budget
    spent: float
    percent: float
    period_key: str

    @property
    def state(self) -> str:
        """ok | warning | reached, as the page colours it."""
        if self.percent >= 100:
            return "reached"
        return "warning" if self.percent >= self.budget.warn_percent else "ok"

    @property
    def bar_percent(self) -> float:
        return min(100.0, self.percent)


def budgets_for_workspace(*, workspace) -> QuerySet[Budget]:
    return Budget.objects.filter(workspace=workspace).select_related("deployment")


def budget_get(*, workspace, budget_id) -> Budget:
    """404 for another workspace's budget, exactly as for one that does not exist."""
    budget = budgets_for_workspace(workspace=workspace).filter(pk=budget_id).first()
    if budget is None:
        raise Http404("No such budget.")
    return budget


def progress_of(budget: Budget, figures: dict[str, float], now) -> BudgetProgress:
    """`figures`: the spend of the budget's scope (its deployment, or the whole workspace)."""
    spent = figures[PERIOD_FIGURE[budget.period]]
    percent = spent / float(budget.limit_usd) * 100 if budget.limit_usd > 0 else 0.0
    return BudgetProgress(budget=budget, spent=spent, percent=percent, period_key=period_key(budget.period, now))


def scope_figures(workspace, now) -> tuple[dict, dict]:
    """(per deployment id figures, workspace figures), from one read of the workspace."""
    per_deployment = {row.pk: values for row, values in deployment_figures(workspace=workspace, now=now)}
    workspace_figures = {name: sum(values[name] for values in per_deployment.values()) for name in FIGURES}
    return per_deployment, workspace_figures


def budgets_with_progress(*, workspace, now=None) -> list[BudgetProgress]:
    now = now or timezone.now()
    per_deployment, workspace_figures = scope_figures(workspace, now)
    empty = dict.fromkeys(FIGURES, 0.0)
    return [progress_of(budget, per_deployment.get(budget.deployment_id, empty) if budget.deployment_id
                        else workspace_figures, now)
            for budget in budgets_for_workspace(workspace=workspace)]
