"""Rules: trigger + JSON conditions + actions, with a cooldown and an hourly cap per deployment,
and a RuleRun for every evaluation that matched (what triggered it, what it decided, what
happened, how long it took)."""

from django.conf import settings
from django.db import models


class Trigger(models.TextChoices):
    DOWN = "down", "Deployment goes down"
    RECOVERED = "recovered", "Deployment recovers"
    PREEMPTED = "preempted", "Spot instance preempted"
    FAILED_TO_START = "failed_to_start", "Deployment fails to start"
    IDLE = "idle", "GPU idle"
    COST_THRESHOLD = "cost_threshold", "Spend passes a threshold"
    BUDGET_REACHED = "budget_reached", "Budget reached"
    PRICE_CHANGE = "price_change", "Price changes"
    PRICE_BELOW = "price_below", "Price at or below"
    SCHEDULE = "schedule", "On a schedule (cron)"


class Rule(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="rules")
    # None: every deployment of the workspace (workspace-wide rules and price/schedule rules).
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    dry_run = models.BooleanField(default=False, help_text="Decide and record, but take no action.")
    trigger = models.CharField(max_length=24, choices=Trigger.choices)
    # Per trigger: idle {threshold_percent, minutes}; cost_threshold {usd, period};
    # price_* {gpu_model, price, percent, minutes}; schedule {cron, timezone}.
    trigger_params = models.JSONField(default=dict, blank=True)
    # automation.conditions: {"all": [{"field": "deployment.provider", "op": "eq", "value": "vast"}]}.
    conditions = models.JSONField(default=dict, blank=True)
    # [{"type": "restart"}, {"type": "notify", "channels": [3]}, {"type": "migrate", "min_saving_percent": 20}]
    actions = models.JSONField(default=list)
    # Actions run once per capped hour when the hourly cap stops `actions` (auto-restart: failover or stop).
    escalation = models.JSONField(default=list, blank=True)
    cooldown_s = models.PositiveIntegerField(default=300)
    max_per_hour = models.PositiveIntegerField(default=3)
    # Built-in policy this rule implements ("auto_restart", "cost_cap", ...), blank for custom rules.
    policy = models.CharField(max_length=32, blank=True)
    position = models.PositiveIntegerField(default=0)
    # Scheduler bookkeeping for cron rules and sustained-condition triggers (idle, price for Y min).
    next_fire_at = models.DateTimeField(null=True, blank=True)
    state = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["workspace", "trigger", "enabled"], name="rule_ws_trigger")]

    def __str__(self):
        return self.name


class RunOutcome(models.TextChoices):
    DONE = "done", "Done"
    DRY_RUN = "dry_run", "Dry run"
    COOLDOWN = "cooldown", "Skipped: cooldown"
    CAPPED = "capped", "Skipped: hourly cap"
    NOT_MATCHED = "not_matched", "Conditions not met"
    ESCALATED = "escalated", "Escalated"
    FAILED = "failed", "Failed"
    PENDING = "pending", "In progress"
    # A safety check held the action back (health unknown, or recovered before the engine acted).
    SKIPPED = "skipped", "Skipped: not safe"


class RuleRun(models.Model):
    rule = models.ForeignKey(Rule, null=True, on_delete=models.SET_NULL, related_name="runs")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="rule_runs")
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="rule_runs")
    event = models.ForeignKey(
        "automation.AutomationEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="rule_runs")
    rule_name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=24)
    decision = models.JSONField(default=dict, blank=True, help_text="What the engine decided and why.")
    actions = models.JSONField(default=list, blank=True, help_text="Each action and what happened.")
    outcome = models.CharField(max_length=16, choices=RunOutcome.choices)
    detail = models.CharField(max_length=500, blank=True)
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One run per rule per event, however many workers saw the event.
            models.UniqueConstraint(fields=["rule", "event"], name="rulerun_once_per_event",
                                    condition=models.Q(event__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["rule", "deployment", "-started_at"], name="rulerun_rule_dep"),
            models.Index(fields=["workspace", "-started_at"], name="rulerun_ws"),
        ]
