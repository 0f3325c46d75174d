"""Shapes of the providers API. The API key is write-only: no output serializer has it."""

from rest_framework import serializers

from computehub.api.serializers import StrictCharField, StrictSerializer
from accounts.models import Role
from providers.models import ProviderCredential
from providers.services import connectable_kinds


ADMIN_ONLY_FIELDS = ("base_url", "fingerprint")


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


ADMIN_ONLY_HELP = "Admins only: omitted from the answer for other roles (reliability.md §6.1)."


class CredentialSerializer(serializers.ModelSerializer):
    """A connected account. A Viewer or Developer sees only `last4` of the key: the fingerprint
    (matches a key someone holds elsewhere) and `base_url` (internal gateway addresses) are for
    Admins. Pass the request in the context; without it the admin-only fields are left out."""

    stale = serializers.BooleanField(source="is_stale", read_only=True)
    # Not read_only, so the schema does not list them as required (this serializer is output only).
    base_url = serializers.CharField(required=False, help_text=ADMIN_ONLY_HELP)
    fingerprint = serializers.CharField(required=False, help_text=ADMIN_ONLY_HELP)

    class Meta:
        model = ProviderCredential
        fields = ["id", "provider", "label", "is_sandbox", "base_url", "last4", "fingerprint", "created_at",
                  "validated_at", "refreshed_at", "refresh_error", "stale"]
        read_only_fields = [name for name in fields if name not in ADMIN_ONLY_FIELDS]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not _is_admin(self.context.get("request")):
            for name in ADMIN_ONLY_FIELDS:
                data.pop(name, None)
        return data


def _is_admin(request) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.allows(Role.ADMIN)


class ProviderChoiceField(serializers.ChoiceField):
    """A connectable provider kind, as a JSON string. "local" is not among the choices: This
    machine is created by the server when its operator turns it on, never connected by a member."""

    def __init__(self, **kwargs):
        super().__init__(choices=connectable_kinds(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class CredentialCreateSerializer(StrictSerializer):
    provider = ProviderChoiceField()
    label = StrictCharField(max_length=80, required=False, allow_blank=True, default="")
    api_key = StrictCharField(max_length=4096, write_only=True, trim_whitespace=True,
                              help_text="Checked with the provider, stored encrypted, never returned.")
    base_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=200,
                                    help_text="Only for sandboxes and self-hosted gateways (http/https).")
