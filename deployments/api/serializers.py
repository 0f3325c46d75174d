"""Shapes of the deployments and templates API. Secret environment values are write-only:
outputs name the secret KEYS only. Serializers check types; the services check meaning."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from computehub.api.serializers import StrictCharField, StrictSerializer
from deployments.api import readouts
from deployments.models import Deployment, DeploymentTemplate, Status
from deployments.selectors import deployment_actions
from deployments.services import secret_env_of


def _argv(**kwargs):
    return serializers.ListField(child=StrictCharField(allow_blank=True, trim_whitespace=False), **kwargs)


def _env(**kwargs):
    return serializers.DictField(child=StrictCharField(allow_blank=True, trim_whitespace=False), **kwargs)


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true/false: DRF would read "yes" or 1 as true."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


# --- templates ----------------------------------------------------------------------------------


class TemplateSerializer(serializers.ModelSerializer):
    scope = serializers.SerializerMethodField(help_text="preset | workspace (yours) | public (another workspace's)")

    class Meta:
        model = DeploymentTemplate
        fields = ["id", "slug", "name", "description", "image", "command", "local_command", "ports", "env",
                  "disk_gb", "min_vram_gb", "health_path", "is_preset", "is_public", "scope", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["preset", "workspace", "public"]))
    def get_scope(self, template) -> str:
        if template.is_preset:
            return "preset"
        workspace = getattr(self.context.get("request"), "workspace", None)
        return "workspace" if workspace is not None and template.workspace_id == workspace.pk else "public"


class TemplateWriteSerializer(StrictSerializer):
    """POST needs name and image; PATCH (partial) takes any subset."""

    name = StrictCharField(max_length=80)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    image = StrictCharField(max_length=300)
    command = _argv(required=False)
    local_command = _argv(required=False, help_text="argv for the Local provider; must run on a bare machine.")
    ports = serializers.ListField(child=serializers.IntegerField(), required=False)
    env = _env(required=False, help_text="Default variables. Never put secrets in a template.")
    disk_gb = serializers.IntegerField(required=False)
    min_vram_gb = serializers.FloatField(required=False)
    health_path = StrictCharField(required=False, allow_blank=True, max_length=200)
    is_public = StrictBooleanField(required=False, help_text="Publish to every workspace (creator or Admin).")


# --- deployments --------------------------------------------------------------------------------


# A named component of its own: pricing's API already has a "status" enum.
@extend_schema_field({"type": "string", "enum": list(Status.values), "description": "Observed status."},
                     component_name="DeploymentStatus")
class ObservedStatusField(serializers.CharField):
    pass


class DeploymentListSerializer(serializers.ModelSerializer):
    status = ObservedStatusField(read_only=True)
    gpu = serializers.CharField(source="gpu_name", read_only=True)
    credential_label = serializers.CharField(source="credential.label", read_only=True)
    template_name = serializers.CharField(source="template.name", read_only=True, allow_null=True, default=None)
    uptime_s = serializers.SerializerMethodField(help_text="Seconds running now; 0 unless running.")
    spend_usd = serializers.SerializerMethodField(help_text="USD spent so far, at the launch price.")

    class Meta:
        model = Deployment
        fields = ["id", "name", "status", "raw_status", "desired_state", "provider", "credential_label", "gpu",
                  "gpu_count", "price_per_hour", "uptime_s", "spend_usd", "template_name", "created_at"]
        read_only_fields = fields

    def _now(self):
        # One clock for the whole page, so rows agree with each other.
        return self.context.setdefault("now", timezone.now())

    def get_uptime_s(self, deployment) -> int:
        return readouts.uptime_seconds(deployment, self._now())

    def get_spend_usd(self, deployment) -> float:
        return readouts.spend_so_far(deployment, self._now())


class EndpointSerializer(serializers.Serializer):
    port = serializers.IntegerField()
    url = serializers.URLField(allow_null=True)


class ActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["start", "stop", "restart", "delete"])
    allowed = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="Why it is disabled now; null when allowed.")


class DeploymentDetailSerializer(DeploymentListSerializer):
    template = serializers.PrimaryKeyRelatedField(read_only=True)
    secret_env_keys = serializers.SerializerMethodField(help_text="Names of the secret variables; values are never returned.")
    ssh_command = serializers.SerializerMethodField()
    endpoints = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(DeploymentListSerializer.Meta):
        fields = [*DeploymentListSerializer.Meta.fields, "template", "offer_id", "region", "gpu_model", "vram_gb",
                  "image", "command", "env", "secret_env_keys", "ports", "disk_gb", "spot", "bid_per_hour",
                  "instance_id", "public_ip", "ssh_host", "ssh_port", "ssh_user", "ssh_command", "endpoints",
                  "actions", "last_error", "status_changed_at", "running_since", "terminated_at"]
        read_only_fields = fields

    def get_secret_env_keys(self, deployment) -> list[str]:
        return sorted(secret_env_of(deployment))

    @extend_schema_field(OpenApiTypes.STR)
    def get_ssh_command(self, deployment) -> str | None:
        return readouts.ssh_command(deployment)

    @extend_schema_field(EndpointSerializer(many=True))
    def get_endpoints(self, deployment):
        return readouts.endpoints(deployment)

    @extend_schema_field(ActionSerializer(many=True))
    def get_actions(self, deployment):
        return [{"action": action, "allowed": reason is None, "reason": reason}
                for action, reason in deployment_actions(deployment).items()]


class DeploymentCreateSerializer(StrictSerializer):
    """Either `offer` (an offer's id from /offers/) or `credential` + `offer_id`; the rest
    defaults to the template's values when `template` is given."""

    offer = serializers.IntegerField(required=False, help_text="An offer's `id` from /api/v1/offers/.")
    credential = serializers.UUIDField(required=False, help_text="A connected account (with `offer_id`).")
    offer_id = StrictCharField(required=False, allow_blank=True, max_length=200,
                               help_text="The provider's offer id (with `credential`); blank for This machine.")
    template = serializers.IntegerField(required=False)
    name = StrictCharField(required=False, max_length=80)
    image = StrictCharField(required=False, max_length=300)
    command = _argv(required=False)
    env = _env(required=False)
    secret_env = _env(required=False, write_only=True,
                      help_text="Stored encrypted, passed to the instance, never returned (only the keys are).")
    ports = serializers.ListField(child=serializers.IntegerField(), required=False)
    disk_gb = serializers.IntegerField(required=False)
    spot = StrictBooleanField(required=False)
    bid_per_hour = serializers.FloatField(required=False, allow_null=True, help_text="Spot only: your ceiling in USD/h.")

    def validate(self, data):
        if ("offer" in data) == ("credential" in data):
            raise serializers.ValidationError({"offer": ["Give either `offer`, or `credential` with `offer_id`."]})
        if "offer" in data and "offer_id" in data:  # `offer` names the provider's offer already
            raise serializers.ValidationError({"offer_id": ["Give `offer_id` only with `credential`, not with `offer`."]})
        return data
