"""Shapes of the workspace SSH keys API. The workspace key's private half has no field here at all."""

from rest_framework import serializers

from accounts.models import MemberSshKey, WorkspaceKeyPair
from computehub.api.serializers import StrictCharField, StrictSerializer


class WorkspaceKeyPairSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkspaceKeyPair
        fields = ["public_key", "fingerprint", "created_at"]
        read_only_fields = fields


class MemberSshKeySerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = MemberSshKey
        fields = ["id", "name", "public_key", "fingerprint", "owner", "created_at"]
        read_only_fields = fields


class MemberSshKeyCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=80)
    public_key = StrictCharField(max_length=16_384, help_text="One OpenSSH public key line, e.g. ssh-ed25519 AAAA… me@laptop")
