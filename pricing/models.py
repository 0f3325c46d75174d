"""Normalized GPU offers from every connected provider, and their price history."""

from django.db import models


class Offer(models.Model):
    """One rentable configuration as the provider lists it, normalized. Ranking columns
    ($/GPU-hour, $/TFLOP-hour, $/GB-VRAM-hour) are computed at refresh so search sorts in SQL."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="offers")
    credential = models.ForeignKey("providers.ProviderCredential", on_delete=models.CASCADE, related_name="offers")
    provider = models.CharField(max_length=16)
    offer_id = models.CharField(max_length=200)
    region = models.CharField(max_length=100, blank=True)
    gpu_model = models.CharField(max_length=40, blank=True, help_text="Canonical id; blank when unrecognised.")
    gpu_name = models.CharField(max_length=120, help_text="As the provider names it.")
    gpu_count = models.PositiveSmallIntegerField()
    vram_gb = models.FloatField(help_text="Per GPU.")
    vcpus = models.FloatField(null=True, blank=True)
    ram_gb = models.FloatField(null=True, blank=True)
    disk_gb = models.FloatField(null=True, blank=True)
    price_per_hour = models.FloatField(help_text="USD per hour for the whole offer.")
    price_per_gpu_hour = models.FloatField()
    price_per_tflop_hour = models.FloatField(null=True, blank=True)
    # Null for a CPU-only offer: no VRAM, so no $/GB-VRAM-hour (sorted last, like unknown TFLOPS).
    price_per_vram_gb_hour = models.FloatField(null=True, blank=True)
    spot = models.BooleanField(default=False)
    min_bid_per_hour = models.FloatField(null=True, blank=True)
    available = models.PositiveIntegerField(null=True, blank=True)
    reliability = models.FloatField(null=True, blank=True)
    cuda_version = models.CharField(max_length=16, blank=True)
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credential", "offer_id", "spot"], name="offer_unique_per_credential")
        ]
        indexes = [
            # gpu_count rides along so "≥ N GPUs, cheapest first" checks it in the index: big boxes
            # are the expensive ones, so the scan passes tens of thousands of cheaper 1-GPU entries
            # before it has 50 matches, and without the column each one was a table lookup.
            models.Index(fields=["workspace", "price_per_hour", "gpu_count"], name="offer_ws_price_count"),
            models.Index(fields=["workspace", "price_per_gpu_hour"], name="offer_ws_gpu_price"),
            models.Index(fields=["workspace", "gpu_model", "price_per_gpu_hour"], name="offer_ws_model_price"),
            models.Index(fields=["workspace", "price_per_tflop_hour"], name="offer_ws_tflop_price"),
            models.Index(fields=["workspace", "price_per_vram_gb_hour"], name="offer_ws_vram_price"),
            # "availability" sort: most available first, then $/GPU-h (SQLite puts NULLs last in DESC).
            models.Index(fields=["workspace", "-available", "price_per_gpu_hour"], name="offer_ws_available"),
        ]

    def __str__(self):
        return f"{self.gpu_count}× {self.gpu_name} on {self.provider} at ${self.price_per_hour:.2f}/h"


class PricePoint(models.Model):
    """The cheapest $/GPU-hour for one GPU model, provider and spot flag at one refresh."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="price_points")
    gpu_model = models.CharField(max_length=40)
    provider = models.CharField(max_length=16)
    spot = models.BooleanField(default=False)
    price_per_gpu_hour = models.FloatField()
    recorded_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "gpu_model", "recorded_at"], name="pricepoint_ws_model_time")]
