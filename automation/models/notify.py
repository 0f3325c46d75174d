"""Notification channels (email, Telegram, signed webhook), one Notification row per delivery
attempt, price alerts, and a token bucket per destination."""

import uuid

from django.conf import settings
from django.db import models


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    TELEGRAM = "telegram", "Telegram"
    WEBHOOK = "webhook", "Webhook"


class NotificationChannel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="notification_channels")
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    name = models.CharField(max_length=80)
    # email: {"addresses": [...]}; telegram: {"chat_id": 123, "chat_title": "...", "bot_username": "..."};
    # webhook: {"url": "https://..."}. Never secrets.
    config = models.JSONField(default=dict, blank=True)
    # Encrypted (computehub.crypto, AAD bound to this row): the Telegram bot token, or the webhook
    # signing secrets as a JSON list (newest first; two during rotation).
    secret = models.TextField(blank=True)
    secret_last4 = models.CharField(max_length=4, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Event types sent; empty: all.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_notify_at = models.DateTimeField(null=True, blank=True)
    last_notify_duration_ms = models.FloatField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    RETRY = "retry", "Will retry"
    FAILED = "failed", "Failed"
    GROUPED = "grouped", "Sent in a group"
    SUPPRESSED = "suppressed", "Suppressed"


class Notification(models.Model):
    """One delivery attempt of one message to one channel. `message_key` names the message (e.g.
    "event:<id>"); the unique (channel, message_key, attempt) makes a second worker's insert of the
    same attempt fail, so each state change is sent once per channel."""

    channel = models.ForeignKey(NotificationChannel, on_delete=models.CASCADE, related_name="notifications")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey("automation.AutomationEvent", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="notifications")
    message_key = models.CharField(max_length=120)
    message_id = models.CharField(max_length=64, help_text="webhook-id / idempotency key, same for every attempt.")
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    is_test = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "message_key", "attempt"], name="notification_attempt_once"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="retry"), name="notification_retry_due"),
            models.Index(fields=["workspace", "-created_at"], name="notification_ws_created"),
        ]


class PriceAlert(models.Model):
    """"Tell me when H100 is at or below $2.00/hour on any provider": fires when the cheapest
    matching offer crosses to at or below the price, and again only after it went above."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="price_alerts")
    gpu_model = models.CharField(max_length=40)
    max_price_per_hour = models.DecimalField(max_digits=8, decimal_places=3)
    min_gpus = models.PositiveSmallIntegerField(default=1)
    include_spot = models.BooleanField(default=False)
    provider = models.CharField(max_length=16, blank=True, help_text="Empty: any provider.")
    enabled = models.BooleanField(default=True)
    is_below = models.BooleanField(default=False, help_text="Last seen at or below the price.")
    last_price = models.FloatField(null=True, blank=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["gpu_model", "max_price_per_hour"]
        constraints = [models.CheckConstraint(condition=models.Q(max_price_per_hour__gt=0), name="pricealert_positive")]


class TokenBucket(models.Model):
    """A rate limit shared by every worker: `tokens` refill at `rate_per_s` up to `capacity`."""

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()
