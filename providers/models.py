"""A workspace's connection to a GPU cloud: its API key, stored encrypted, and refresh health."""

import uuid

from django.conf import settings
from django.db import models


class ProviderKind(models.TextChoices):
    RUNPOD = "runpod", "RunPod"
    VAST = "vast", "Vast.ai"
    LAMBDA = "lambda", "Lambda"
    TENSORDOCK = "tensordock", "TensorDock"
    PAPERSPACE = "paperspace", "Paperspace"
    AKASH = "akash", "Akash"
    LOCAL = "local", "This machine"


class ProviderCredential(models.Model):
    """One provider account bound to a workspace. The key is write-only: only `last4` and
    `fingerprint` are ever shown; `secret` holds `v1:aesgcm:<kid>:...` (computehub.crypto),
    bound by associated data to this row and workspace."""

    # A UUID known before the first save, so the key can be encrypted with this row's AAD at once.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="credentials")
    provider = models.CharField(max_length=16, choices=ProviderKind.choices)
    label = models.CharField(max_length=80)
    is_sandbox = models.BooleanField(default=False)
    base_url = models.URLField(blank=True, help_text="Empty: the provider's real API.")
    secret = models.TextField(blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    fingerprint = models.CharField(max_length=16, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True, help_text="Last successful offer refresh.")
    refresh_error = models.CharField(max_length=300, blank=True)
    refresh_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "-is_sandbox", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "provider", "fingerprint"],
                condition=~models.Q(fingerprint=""),
                name="credential_unique_key_per_workspace",
            )
        ]

    def __str__(self):
        return f"{self.get_provider_display()}: {self.label}"

    @property
    def is_stale(self) -> bool:
        return bool(self.refresh_error)


def provider_display_name(kind: str) -> str:
    """The name people know a provider by: its adapter's, else the kind's label, else the kind."""
    from providers.adapters import adapter_class  # late: loading the adapters imports their modules

    try:
        return adapter_class(kind).display_name
    except KeyError:
        return ProviderKind(kind).label if kind in ProviderKind.values else kind
