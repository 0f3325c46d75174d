"""The automation outbox: every fact the rules engine and the notifiers react to is one row,
written once (unique `dedup_key`) by whoever observed it, and claimed once
(`UPDATE … SET claimed_at WHERE claimed_at IS NULL`) by whichever worker processes it."""

from django.db import models


class EventType(models.TextChoices):
    DOWN = "down", "Deployment down"
    STILL_DOWN = "still_down", "Still down"
    RECOVERED = "recovered", "Deployment recovered"
    PREEMPTED = "preempted", "Spot instance preempted"
    FAILED = "failed", "Deployment failed"
    FAILED_TO_START = "failed_to_start", "Failed to start"
    SUCCEEDED = "succeeded", "Job succeeded"
    IDLE = "idle", "GPU idle"
    COST_THRESHOLD = "cost_threshold", "Cost threshold"
    BUDGET_WARNING = "budget_warning", "Budget at 80%"
    BUDGET_REACHED = "budget_reached", "Budget reached"
    PRICE_CHANGE = "price_change", "Price change"
    PRICE_BELOW = "price_below", "Price at or below"
    SCHEDULE = "schedule", "Schedule"
    UNREACHABLE = "unreachable", "Health unknown for 10 minutes (provider unreachable)"
    FLAPPING = "flapping", "Flapping"
    REMINDER = "reminder", "Still down (4-hourly reminder)"
    ACTION = "action", "Automation action taken"
    URGENT = "urgent", "Needs attention"


class AutomationEvent(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="automation_events")
    deployment = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.CASCADE, related_name="automation_events")
    type = models.CharField(max_length=24, choices=EventType.choices)
    # One fact, one row: e.g. "flip:<flip id>", "budget:<budget id>:2026-11:100".
    dedup_key = models.CharField(max_length=200, unique=True)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Rules engine: claimed by one worker, then processed.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # Notifications: fanned out to channels once (separately from the rules engine's claim).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(processed_at__isnull=True),
                         name="autoevent_unprocessed"),
            models.Index(fields=["created_at"], condition=models.Q(notified_at__isnull=True),
                         name="autoevent_unnotified"),
            models.Index(fields=["workspace", "-created_at"], name="autoevent_ws_created"),
            models.Index(fields=["deployment", "type", "-created_at"], name="autoevent_dep_type"),
        ]

    def __str__(self):
        return f"{self.type}: {self.summary}"
