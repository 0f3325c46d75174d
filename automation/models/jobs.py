"""The batch queue: a job runs to completion on the cheapest offer that fits, each try is a
deployment (an attempt), preemption or failure retries on the next best offer."""

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PLACING = "placing", "Placing"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Job(models.Model):
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="jobs")
    name = models.CharField(max_length=80)
    template = models.ForeignKey("deployments.DeploymentTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    image = models.CharField(max_length=300)
    command = models.JSONField(default=list, blank=True)
    env = models.JSONField(default=dict, blank=True)
    # Requirements.
    gpu_model = models.CharField(max_length=40, blank=True)
    min_gpus = models.PositiveSmallIntegerField(default=1)
    min_vram_gb = models.FloatField(default=0)
    max_price_per_hour = models.FloatField()
    max_runtime_s = models.PositiveIntegerField(default=3600)
    max_retries = models.PositiveSmallIntegerField(default=2)
    allow_spot = models.BooleanField(default=True)
    providers = models.JSONField(default=list, blank=True, help_text="Empty: any connected provider.")
    # Progress.
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    deployment = models.ForeignKey("deployments.Deployment", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="The current (or last) attempt.")
    exit_code = models.IntegerField(null=True, blank=True)
    cost_usd = models.FloatField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    cancel_requested = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "status"], name="job_ws_status")]

    def __str__(self):
        return self.name


class JobAttempt(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    deployment = models.ForeignKey("deployments.Deployment", null=True, on_delete=models.SET_NULL, related_name="+")
    provider = models.CharField(max_length=16)
    offer_id = models.CharField(max_length=200)
    price_per_hour = models.FloatField()
    spot = models.BooleanField(default=False)
    outcome = models.CharField(max_length=16, blank=True, help_text="succeeded | failed | preempted | timeout | cancelled")
    exit_code = models.IntegerField(null=True, blank=True)
    cost_usd = models.FloatField(default=0)
    detail = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="jobattempt_unique")]
