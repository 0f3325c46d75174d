"""Budgets: create, change and delete them (everything validated before anything is stored), and
the autopilot's check every 10 s (a crossing is seen within 10 s, so a cap's stop is
issued well within 60 s) that announces each crossing once per period: `budget_warning`
at warn_percent, `budget_reached` at 100%. What happens then (stop, delete, notify) is the rules
engine's decision (the Cost cap policy)."""

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from automation.events import event_emit
from automation.models import Budget, BudgetPeriod, EventType
from automation.selectors.spend import BudgetProgress, period_key, progress_of, scope_figures
from computehub.errors import ApplicationError
from deployments.models import Deployment

MAX_LIMIT_USD = Decimal("10000000")
DEPLOYMENT_PERIODS = (BudgetPeriod.TOTAL, BudgetPeriod.DAY)
WORKSPACE_PERIODS = (BudgetPeriod.MONTH,)
EDITABLE = ("period", "limit_usd", "warn_percent", "enabled")
INVALID = "Some fields are invalid."


# --- validation ---------------------------------------------------------------------------------


def _limit(value) -> tuple[Decimal | None, str | None]:
    if isinstance(value, bool):
        return None, "Enter an amount in USD."
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, "Enter an amount in USD."
    if not amount.is_finite():
        return None, "Enter an amount in USD."
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if amount < MAX_LIMIT_USD else amount
    if amount <= 0:
        return None, "The limit must be more than $0.00."
    if amount > MAX_LIMIT_USD:
        return None, f"The limit can be at most ${MAX_LIMIT_USD:,.0f}."
    return amount, None


def _warn_percent(value) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or (isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
        return None, "Enter a whole percentage between 1 and 99."
    try:
        percent = int(str(value).strip())
    except (TypeError, ValueError):
        return None, "Enter a whole percentage between 1 and 99."
    if not 1 <= percent <= 99:
        return None, "Enter a whole percentage between 1 and 99."
    return percent, None


def _period_error(period, deployment) -> str | None:
    allowed = DEPLOYMENT_PERIODS if deployment is not None else WORKSPACE_PERIODS
    if period in allowed:
        return None
    if deployment is not None:
        return "A deployment budget is either in total or per day."
    return "A workspace budget is per month."


def _deployment_of(workspace, value) -> tuple[Deployment | None, str | None]:
    if value in (None, ""):
        return None, None
    pk = value.pk if isinstance(value, Deployment) else value
    try:
        found = Deployment.objects.filter(workspace=workspace, pk=pk).first()
    except (ValueError, TypeError, ValidationError):  # not a UUID: the same answer as a foreign one
        found = None
    return (found, None) if found is not None else (None, "Choose a deployment of this workspace.")


def _validated(*, period, limit_usd, warn_percent, deployment) -> dict:
    """The clean values, or ApplicationError naming every bad field (nothing is stored)."""
    errors, clean = {}, {"period": period, "deployment": deployment}
    clean["limit_usd"], limit_error = _limit(limit_usd)
    clean["warn_percent"], warn_error = _warn_percent(warn_percent)
    for field, error in (("limit_usd", limit_error), ("warn_percent", warn_error),
                         ("period", _period_error(period, deployment))):
        if error:
            errors[field] = [error]
    if errors:
        raise ApplicationError(INVALID, code="validation_error", fields=errors)
    return clean


# --- writes -------------------------------------------------------------------------------------


def budget_create(*, workspace, user, deployment=None, period, limit_usd, warn_percent=80) -> Budget:
    found, deployment_error = _deployment_of(workspace, deployment)
    if deployment_error:
        raise ApplicationError(INVALID, code="validation_error", fields={"deployment": [deployment_error]})
    clean = _validated(period=period, limit_usd=limit_usd, warn_percent=warn_percent, deployment=found)
    return Budget.objects.create(workspace=workspace, created_by=user, **clean)


LIMITS = ("period", "limit_usd", "warn_percent")


def _checked_changes(budget: Budget, changes: dict) -> dict:
    """The columns to write, every value validated; ApplicationError names each bad field."""
    problems = {name: ["Cannot be changed."] for name in sorted(set(changes) - set(EDITABLE))}
    if "enabled" in changes and not isinstance(changes["enabled"], bool):
        problems["enabled"] = ["Either true or false."]
    if problems:
        raise ApplicationError(INVALID, code="validation_error", fields=problems)
    clean = _validated(deployment=budget.deployment,
                       **{name: changes.get(name, getattr(budget, name)) for name in LIMITS})
    return {name: clean[name] for name in LIMITS} | (
        {"enabled": changes["enabled"]} if "enabled" in changes else {})


def budget_update(*, budget: Budget, user, **changes) -> Budget:
    """Change period, limit, warning percentage or enabled. A changed limit, percentage or period
    re-arms the warning and the cap, so a raised limit is enforced again in the same period."""
    fields = _checked_changes(budget, changes)
    if any(fields[name] != getattr(budget, name) for name in LIMITS):
        fields |= {"warned_period": "", "reached_period": "", "reached_at": None}
    Budget.objects.filter(pk=budget.pk).update(**fields)
    budget.refresh_from_db()
    return budget


def budget_delete(*, budget: Budget, user) -> None:
    budget.delete()


# --- the 10-second check ------------------------------------------------------------------------

MAX_BUDGETS_PER_CALL = 2000
MAX_KEY_TRIES = 20  # re-armed announcements in one period: budget:<id>:<key>:reached, …:reached:2, …


def _event_data(progress: BudgetProgress) -> dict:
    budget = progress.budget
    return {"budget_id": budget.pk, "period": budget.period, "period_key": progress.period_key,
            "spent_usd": round(progress.spent, 4), "limit_usd": float(budget.limit_usd),
            "percent": round(progress.percent, 2)}


def _scope_name(budget: Budget) -> str:
    return budget.deployment.name if budget.deployment_id else "the workspace"


def _summary(progress: BudgetProgress, reached: bool) -> str:
    budget, when = progress.budget, BudgetPeriod(progress.budget.period).label.lower()
    head = "Budget reached" if reached else f"Budget at {progress.percent:.0f}%"
    return f"{head}: ${progress.spent:,.2f} of ${budget.limit_usd:,.2f} ({when}) for {_scope_name(budget)}"


def _emit(progress: BudgetProgress, suffix: str, event_type: str, reached: bool) -> None:
    """Emit under the period's key; a budget re-armed by an edit in the same period takes the
    next free numbered key. Only the worker that won the conditional UPDATE gets here."""
    budget = progress.budget
    base = f"budget:{budget.pk}:{progress.period_key}:{suffix}"
    for number in range(1, MAX_KEY_TRIES + 1):
        key = base if number == 1 else f"{base}:{number}"
        if event_emit(workspace=budget.workspace, type=event_type, dedup_key=key, summary=_summary(progress, reached),
                      deployment=budget.deployment, data=_event_data(progress)) is not None:
            return


def _announce(progress: BudgetProgress, now) -> int:
    """One conditional UPDATE per crossing: whichever worker flips the period mark announces it."""
    budget, key, emitted = progress.budget, progress.period_key, 0
    if progress.percent >= 100:
        with transaction.atomic():
            if Budget.objects.filter(pk=budget.pk).exclude(reached_period=key).update(
                    reached_period=key, reached_at=now, warned_period=key):
                _emit(progress, "reached", EventType.BUDGET_REACHED, reached=True)
                emitted += 1
    elif progress.percent >= budget.warn_percent:
        with transaction.atomic():
            if Budget.objects.filter(pk=budget.pk).exclude(warned_period=key).update(warned_period=key):
                _emit(progress, "warn", EventType.BUDGET_WARNING, reached=False)
                emitted += 1
    return emitted


def _due_budgets(now) -> list[Budget]:
    """Enabled budgets not yet reached in their current period (a reached one has nothing left
    to announce), oldest first, bounded."""
    done = Q()
    for period in BudgetPeriod.values:
        done |= Q(period=period, reached_period=period_key(period, now))
    rows = Budget.objects.filter(enabled=True).exclude(done).select_related("workspace", "deployment")
    return list(rows.order_by("id")[:MAX_BUDGETS_PER_CALL])


def check_budgets(now=None) -> int:
    """Every 10 s from the autopilot: announce each crossing once; returns how many events."""
    now = now or timezone.now()
    figures_by_workspace: dict[int, tuple[dict, dict]] = {}
    emitted = 0
    for budget in _due_budgets(now):
        if budget.workspace_id not in figures_by_workspace:
            figures_by_workspace[budget.workspace_id] = scope_figures(budget.workspace, now)
        per_deployment, workspace_figures = figures_by_workspace[budget.workspace_id]
        figures = per_deployment.get(budget.deployment_id) if budget.deployment_id else workspace_figures
        if figures is not None:
            emitted += _announce(progress_of(budget, figures, now), now)
    return emitted
