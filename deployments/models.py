"""Deployments: what the user asked for (desired state) apart from what the provider reports
(observed status), their timeline, logs, metrics, and the templates they start from."""

import uuid

from django.conf import settings
from django.db import models


class DesiredState(models.TextChoices):
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    DELETED = "deleted", "Deleted"


class Status(models.TextChoices):
    """Observed status; the values are providers.adapters.InstanceStatus's."""

    PENDING = "pending", "Pending"
    PROVISIONING = "provisioning", "Provisioning"
    STARTING = "starting", "Starting"
    RUNNING = "running", "Running"
    STOPPING = "stopping", "Stopping"
    STOPPED = "stopped", "Stopped"
    TERMINATING = "terminating", "Terminating"
    TERMINATED = "terminated", "Terminated"
    FAILED = "failed", "Failed"
    PREEMPTED = "preempted", "Preempted"
    UNKNOWN = "unknown", "Unknown"


class DeploymentTemplate(models.Model):
    """What to run: image, command, ports, environment, disk and the VRAM it needs. Presets have
    no workspace; a workspace's own templates can be published to every workspace."""

    workspace = models.ForeignKey(
        "accounts.Workspace", null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    image = models.CharField(max_length=300)
    command = models.JSONField(default=list, blank=True, help_text="argv for the image.")
    local_command = models.JSONField(
        default=list, blank=True, help_text="argv for the Local provider; must run on a bare machine."
    )
    ports = models.JSONField(default=list, blank=True)
    env = models.JSONField(default=dict, blank=True, help_text="Defaults; never secrets.")
    disk_gb = models.PositiveIntegerField(default=50)
    min_vram_gb = models.FloatField(default=0)
    health_path = models.CharField(max_length=200, blank=True)
    is_preset = models.BooleanField(default=False)
    is_public = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_preset", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="template_slug_per_workspace"),
            models.UniqueConstraint(fields=["slug"], condition=models.Q(workspace__isnull=True), name="preset_slug"),
        ]

    def __str__(self):
        return self.name


class Deployment(models.Model):
    """One workload on one provider account. The reconciler moves `status` toward
    `desired_state` one idempotent step at a time; the provider instance carries the tag
    `ch-<id>` so a lost create is adopted rather than repeated."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="deployments")
    credential = models.ForeignKey(
        "providers.ProviderCredential", on_delete=models.PROTECT, related_name="deployments"
    )
    template = models.ForeignKey(DeploymentTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=80)
    # What was rented, copied from the offer at launch (offers come and go).
    provider = models.CharField(max_length=16)
    offer_id = models.CharField(max_length=200)
    region = models.CharField(max_length=100, blank=True)
    gpu_model = models.CharField(max_length=40, blank=True)
    gpu_name = models.CharField(max_length=120, blank=True)
    gpu_count = models.PositiveSmallIntegerField(default=0)
    vram_gb = models.FloatField(null=True, blank=True)
    price_per_hour = models.FloatField(help_text="USD per hour at launch.")
    # What runs.
    image = models.CharField(max_length=300)
    command = models.JSONField(default=list, blank=True)
    env = models.JSONField(default=dict, blank=True, help_text="Plain variables.")
    secret_env = models.TextField(blank=True, help_text="Encrypted JSON of secret variables (computehub.crypto).")
    ports = models.JSONField(default=list, blank=True)
    disk_gb = models.PositiveIntegerField(default=50)
    spot = models.BooleanField(default=False)
    bid_per_hour = models.FloatField(null=True, blank=True)
    # Desired versus observed.
    desired_state = models.CharField(max_length=16, choices=DesiredState.choices, default=DesiredState.RUNNING)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    raw_status = models.CharField(max_length=100, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    restart_requested_at = models.DateTimeField(null=True, blank=True)
    # The provider's side.
    instance_id = models.CharField(max_length=200, blank=True)
    public_ip = models.CharField(max_length=64, blank=True)
    ssh_host = models.CharField(max_length=255, blank=True)
    ssh_port = models.PositiveIntegerField(null=True, blank=True)
    ssh_user = models.CharField(max_length=64, blank=True)
    port_map = models.JSONField(default=dict, blank=True, help_text="container port → public port")
    # Reconciler bookkeeping: a lease so two workers never act on one deployment at once.
    last_error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Money and time.
    spend_usd = models.FloatField(default=0)
    spend_accrued_at = models.DateTimeField(null=True, blank=True)
    running_since = models.DateTimeField(null=True, blank=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Highest sequence numbers handed out for this deployment's log lines and metric samples.
    log_seq = models.BigIntegerField(default=0)
    metric_seq = models.BigIntegerField(default=0)
    # Where log collection got to (a Local byte offset, or a provider timestamp with the lines
    # already stored at it). Written in the same transaction as the lines, so a crash can neither
    # drop nor repeat lines; a cache entry could be culled and re-store the whole log.
    log_cursor = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="deployment_ws_created"),
            models.Index(fields=["desired_state", "status"], name="deployment_state_status"),
            models.Index(fields=["next_attempt_at"], name="deployment_next_attempt"),
        ]

    def __str__(self):
        return self.name

    @property
    def tag(self) -> str:
        return f"ch-{self.id}"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    ACTION = "action", "Action"
    STATUS = "status", "Status change"
    RECONCILE = "reconcile", "Reconciler"
    ERROR = "error", "Error"
    ORPHAN = "orphan", "Orphan"
    AUTOMATION = "automation", "Automation"


class DeploymentEvent(models.Model):
    """The timeline, which is also the audit log: who did what, every status change, every
    automation decision."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    message = models.CharField(max_length=300)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]


class LogChunk(models.Model):
    """Consecutive log lines; line n of the chunk has sequence number first_seq + n."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="log_chunks")
    first_seq = models.BigIntegerField()
    line_count = models.PositiveIntegerField()
    text = models.TextField(help_text="The lines, joined by newlines.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["first_seq"]
        constraints = [models.UniqueConstraint(fields=["deployment", "first_seq"], name="logchunk_seq_unique")]


class MetricSample(models.Model):
    """One reading of the deployment's resources; keys present only where the provider gives them:
    gpu_util_percent, gpu_mem_used_gb, gpu_temp_c, cpu_percent, ram_used_gb, net_rx_bps, net_tx_bps."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="metric_samples")
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["seq"]
        constraints = [models.UniqueConstraint(fields=["deployment", "seq"], name="metric_seq_unique")]
        indexes = [models.Index(fields=["deployment", "at"], name="metric_deployment_at")]


class MetricRollup(models.Model):
    """Five minutes of MetricSamples summarised, kept for a week after the raw readings are gone:
    what "Test against the last 7 days" replays idle GPUs and metric conditions from. `means`
    holds each key's average, `peaks` its highest reading."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="metric_rollups")
    start = models.DateTimeField()
    samples = models.PositiveIntegerField()
    means = models.JSONField(default=dict)
    peaks = models.JSONField(default=dict)

    class Meta:
        ordering = ["start"]
        constraints = [models.UniqueConstraint(fields=["deployment", "start"], name="metric_rollup_unique")]
