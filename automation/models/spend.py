"""Money: a per-deployment, per-day spend ledger written by the cost meter (so workspace totals per
day and month are sums of rows), and budgets with a warning at 80% and an action at 100%."""

from django.conf import settings
from django.db import models


class SpendDay(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="spend_days")
    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="spend_days")
    day = models.DateField(help_text="UTC day.")
    usd = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deployment", "day"], name="spendday_unique")]
        indexes = [models.Index(fields=["workspace", "day"], name="spendday_ws_day")]


class BudgetPeriod(models.TextChoices):
    TOTAL = "total", "In total"
    DAY = "day", "Per day (UTC)"
    MONTH = "month", "Per month (UTC)"


class Budget(models.Model):
    """A deployment budget (total or per day) or, with no deployment, a workspace budget per month.
    Crossing it emits events (budget_warning at warn_percent, budget_reached at 100%); what happens
    then is a rule's decision (the Cost cap policy: stop or delete, and notify)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="budgets")
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.CASCADE, related_name="budgets")
    period = models.CharField(max_length=8, choices=BudgetPeriod.choices)
    limit_usd = models.DecimalField(max_digits=12, decimal_places=2)
    warn_percent = models.PositiveSmallIntegerField(default=80)
    enabled = models.BooleanField(default=True)
    # The period key ("total", "2026-11-29", "2026-11") whose warning / cap was already handled:
    # written with a conditional UPDATE so several workers announce each crossing once.
    warned_period = models.CharField(max_length=16, blank=True)
    reached_period = models.CharField(max_length=16, blank=True)
    reached_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=models.Q(limit_usd__gt=0), name="budget_limit_positive")]
