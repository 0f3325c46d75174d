"""`cost_threshold`: spend of the rule's deployment (or, for a workspace-wide rule, of the whole
workspace) reached the rule's amount in its period (total, UTC day or UTC month). One event per
rule per period: the key names the period ("total", "2026-11-29", "2026-11")."""

from datetime import UTC, datetime

from django.db.models import Sum
from django.utils import timezone

from automation.models import EventType, Rule, SpendDay, Trigger
from automation.triggers.common import emit_once, number_param, rules_batch, safely
from deployments.models import Deployment

PERIODS = {"total": "total", "day": "today", "month": "month"}  # rule period → spend_totals key


def evaluate_cost_rules(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return sum(safely(_rule_step, rule, now) for rule in rules_batch(Trigger.COST_THRESHOLD))


def _rule_step(rule: Rule, now: datetime) -> bool:
    usd = number_param(rule, "usd", "amount")
    period = (rule.trigger_params or {}).get("period", "total")
    if usd is None or usd <= 0 or period not in PERIODS:
        return False
    spent = spend_for(rule, period, now)
    return spent >= usd and _emit(rule, usd, period, spent, now)


def period_key(period: str, now: datetime) -> str:
    day = now.astimezone(UTC).date()
    return {"total": "total", "day": day.isoformat(), "month": day.strftime("%Y-%m")}[period]


def spend_for(rule: Rule, period: str, now: datetime) -> float:
    """The budgets area's totals when present (they include the ledger of every meter)."""
    try:
        from automation.selectors.spend import spend_totals
    except ImportError:
        return _spend_fallback(rule, period, now)
    totals = spend_totals(workspace=rule.workspace, deployment=rule.deployment, now=now)
    return float(totals.get(PERIODS[period]) or 0)


def _spend_fallback(rule: Rule, period: str, now: datetime) -> float:
    if period == "total":
        rows = Deployment.objects.filter(workspace_id=rule.workspace_id)
        if rule.deployment_id:
            rows = rows.filter(pk=rule.deployment_id)
        return float(rows.aggregate(total=Sum("spend_usd"))["total"] or 0)
    day = now.astimezone(UTC).date()
    days = SpendDay.objects.filter(workspace_id=rule.workspace_id)
    days = days.filter(day=day) if period == "day" else days.filter(day__year=day.year, day__month=day.month)
    if rule.deployment_id:
        days = days.filter(deployment_id=rule.deployment_id)
    return float(days.aggregate(total=Sum("usd"))["total"] or 0)


def _emit(rule: Rule, usd: float, period: str, spent: float, now: datetime) -> bool:
    key = period_key(period, now)
    whose = rule.deployment.name if rule.deployment_id else "The workspace"
    when = {"total": "in total", "day": "today", "month": "this month"}[period]
    return emit_once(
        workspace=rule.workspace, deployment=rule.deployment, type=EventType.COST_THRESHOLD,
        dedup_key=f"cost:{rule.pk}:{key}",
        summary=f"{whose} spent ${spent:,.2f} {when} (threshold ${usd:,.2f})",
        data={"rule_id": rule.pk, "usd": usd, "spent_usd": round(spent, 4), "period": period, "period_key": key})
