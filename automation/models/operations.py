"""Multi-step automation that must survive a worker dying half-way: price-aware migration and
cross-cloud failover (make before break: launch the replacement, wait until it is healthy,
switch, then terminate the old one), spot refill, and a cost-cap stop that is confirmed."""

from django.db import models


class OperationKind(models.TextChoices):
    MIGRATE = "migrate", "Migrate to a cheaper offer"
    FAILOVER = "failover", "Fail over to another provider"
    REFILL = "refill", "Refill a preempted spot instance"
    CAP_STOP = "cap_stop", "Stop at the cost cap"


class OperationState(models.TextChoices):
    LAUNCHING = "launching", "Launching the replacement"
    WAITING = "waiting", "Waiting until healthy"
    SWITCHING = "switching", "Switching"
    CONFIRMING = "confirming", "Waiting for the provider to confirm"
    DONE = "done", "Done"
    ROLLED_BACK = "rolled_back", "Rolled back"
    FAILED = "failed", "Failed"


class Operation(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=12, choices=OperationKind.choices)
    state = models.CharField(max_length=12, choices=OperationState.choices, default=OperationState.LAUNCHING)
    source = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="operations")
    replacement = models.ForeignKey(
        "deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces")
    rule_run = models.ForeignKey("automation.RuleRun", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="operations")
    reason = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True, help_text="Offer chosen, attempts, prices, timings.")
    attempts = models.PositiveIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deadline = models.DateTimeField(null=True, blank=True, help_text="Roll back (or alert) if not done by then.")
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # At most one unfinished operation per deployment: two rules cannot both move it.
            models.UniqueConstraint(fields=["source"], name="operation_one_open_per_source",
                                    condition=models.Q(finished_at__isnull=True)),
        ]
