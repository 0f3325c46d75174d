"""Output shapes of the offers and GPU spec API."""

from rest_framework import serializers

from pricing.models import Offer


class OfferSerializer(serializers.ModelSerializer):
    gpu_name = serializers.CharField(help_text="As the provider names it.")
    gpu_model = serializers.CharField(help_text="Canonical id (see gpus/); empty when unrecognised.")
    vram_gb = serializers.FloatField(help_text="Per GPU.")
    price_per_tflop_hour = serializers.FloatField(allow_null=True, help_text="Null when the GPU model is unknown.")
    price_per_vram_gb_hour = serializers.FloatField(allow_null=True, help_text="Null for CPU-only offers.")
    stale = serializers.BooleanField(read_only=True, help_text="The provider's last refresh failed; prices may be old.")

    class Meta:
        model = Offer
        fields = [
            "id", "provider", "offer_id", "region", "gpu_model", "gpu_name", "gpu_count", "vram_gb", "vcpus",
            "ram_gb", "disk_gb", "price_per_hour", "price_per_gpu_hour", "price_per_tflop_hour",
            "price_per_vram_gb_hour", "spot", "min_bid_per_hour", "available", "reliability", "cuda_version",
            "fetched_at", "stale",
        ]  # fmt: skip
        read_only_fields = fields


class RefreshQueuedSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["queued", "already_queued"],
        help_text='"queued": the refresh runs in the background; a toast says when it is done. '
        '"already_queued": one was queued for this workspace in the last 30 seconds; nothing more was queued.')


class GpuSpecSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    vendor = serializers.CharField()
    architecture = serializers.CharField()
    vram_gb = serializers.FloatField()
    memory_bandwidth_gbs = serializers.FloatField()
    fp16_tflops = serializers.FloatField(help_text="Dense FP16/BF16 tensor throughput, without sparsity.")
    fp32_tflops = serializers.FloatField()
    source = serializers.CharField()
