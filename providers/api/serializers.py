"""Shapes of the providers API. The API key is write-only: no output serializer has it."""

from rest_framework import serializers

from computehub.api.serializers import StrictCharField, StrictSerializer
from providers.models import ProviderCredential


class CapabilitySerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    supported = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why the provider cannot do this; null when it can.")


class RefreshStatusSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["ok", "stale", "never"])
    at = serializers.DateTimeField(allow_null=True, help_text="ok: oldest successful refresh; stale: failing since.")
    error = serializers.CharField(allow_blank=True)


class ProviderKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    display_name = serializers.CharField()
    capabilities = CapabilitySerializer(many=True)
    accounts = serializers.IntegerField(help_text="Connected accounts in this workspace.")
    refresh = RefreshStatusSerializer()


class CredentialSerializer(serializers.ModelSerializer):
    stale = serializers.BooleanField(source="is_stale", read_only=True)

    class Meta:
        model = ProviderCredential
        fields = ["id", "provider", "label", "is_sandbox", "base_url", "last4", "fingerprint", "created_at",
                  "validated_at", "refreshed_at", "refresh_error", "stale"]
        read_only_fields = fields


class CredentialCreateSerializer(StrictSerializer):
    provider = StrictCharField(max_length=16)
    label = StrictCharField(max_length=80, required=False, allow_blank=True, default="")
    api_key = StrictCharField(max_length=4096, write_only=True, trim_whitespace=True,
                              help_text="Checked with the provider, stored encrypted, never returned.")
    base_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=200,
                                    help_text="Only for sandboxes and self-hosted gateways (http/https).")
