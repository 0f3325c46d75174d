"""Health checks: one per monitored deployment, a small state machine (down after 3 failures, up
after 2 successes, unknown never counts as either), and a Flip row per state change."""

from django.db import models


class ProbeKind(models.TextChoices):
    HTTP = "http", "HTTP(S) request"
    TCP = "tcp", "TCP connect"
    PROVIDER = "provider", "Provider status"


class HealthState(models.TextChoices):
    NEW = "new", "Not checked yet"
    UP = "up", "Up"
    DOWN = "down", "Down"
    UNKNOWN = "unknown", "Unknown"


class HealthCheck(models.Model):
    deployment = models.OneToOneField("deployments.Deployment", on_delete=models.CASCADE, related_name="health")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="health_checks")
    enabled = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=ProbeKind.choices, default=ProbeKind.PROVIDER)
    path = models.CharField(max_length=200, blank=True, help_text="HTTP: path requested, e.g. /health.")
    port = models.PositiveIntegerField(null=True, blank=True, help_text="Container port probed (HTTP, TCP).")
    use_https = models.BooleanField(default=False)
    interval_s = models.PositiveIntegerField(default=30)
    timeout_s = models.FloatField(default=10)
    failures_to_down = models.PositiveSmallIntegerField(default=3)
    successes_to_up = models.PositiveSmallIntegerField(default=2)
    # Whether price-aware migration may move this deployment (a per-deployment consent).
    migratable = models.BooleanField(default=False)
    # The state machine.
    state = models.CharField(max_length=10, choices=HealthState.choices, default=HealthState.NEW)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_result = models.CharField(max_length=10, blank=True, help_text="ok | fail | unknown")
    last_error = models.CharField(max_length=300, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    unknown_since = models.DateTimeField(null=True, blank=True)
    unreachable_alerted_at = models.DateTimeField(null=True, blank=True)
    # Gaps between consecutive checks are what the cadence benchmark measures.
    checks = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.kind} check of {self.deployment_id}: {self.state}"


class Flip(models.Model):
    """One state change of one check (outbox for its event, and uptime history)."""

    health_check = models.ForeignKey(HealthCheck, on_delete=models.CASCADE, related_name="flips")
    deployment = models.ForeignKey("deployments.Deployment", on_delete=models.CASCADE, related_name="flips")
    old_state = models.CharField(max_length=10, choices=HealthState.choices)
    new_state = models.CharField(max_length=10, choices=HealthState.choices)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["deployment", "created_at"], name="flip_deployment_created")]
