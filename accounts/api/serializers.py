"""Shapes of the accounts API. Output serializers only read; input ones are strict (unknown
fields are a 400) and only validate: every write goes through accounts.services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import ApiToken, Invitation, Role, Workspace
from computehub.api.serializers import StrictCharField, StrictSerializer

# --- Output ---------------------------------------------------------------------------------


class WorkspaceSerializer(serializers.ModelSerializer):
    """A workspace as its member sees it; `role` comes from selectors.workspaces_with_role."""

    role = serializers.ChoiceField(choices=Role.choices, read_only=True)

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "is_personal", "role", "created_at"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    workspace = WorkspaceSerializer(
        read_only=True, allow_null=True, help_text="The workspace this token or session acts in."
    )
    memberships = WorkspaceSerializer(
        many=True, read_only=True, help_text="Your workspaces and role in each (with a token: its workspace only)."
    )


class MemberSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.name", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)


class InvitationSerializer(serializers.ModelSerializer):
    """Never carries the link: only the invitee receives it, by email."""

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "created_at", "expires_at"]
        read_only_fields = fields


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class TokenCreatedSerializer(TokenSerializer):
    """The one response that shows the raw token; only its hash is stored."""

    token = serializers.SerializerMethodField(help_text="Shown once. Send it as `Authorization: Bearer <token>`.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_token(self, obj) -> str:
        return self.context["raw_token"]


# --- Input ----------------------------------------------------------------------------------


class MeUpdateSerializer(StrictSerializer):
    name = StrictCharField(max_length=150, allow_blank=True)


class WorkspaceWriteSerializer(StrictSerializer):
    name = StrictCharField(max_length=80)


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.DEVELOPER)


class MemberUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TokenCreateSerializer(StrictSerializer):
    name = StrictCharField(max_length=80)
