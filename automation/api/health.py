"""/api/v1/ routes: a deployment's health check. GET (any member): the probe, its state, uptime
over 24 h and 7 days, the last result. PATCH (Developer+): the probe and its cadence, validated
by automation.services.health (a bad field is a 400 naming it; nothing is written)."""

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from automation.models import HealthState, ProbeKind
from automation.selectors.health import health_check_for, health_summary
from automation.services.health import health_check_update
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.serializers import StrictCharField, StrictSerializer
from computehub.api.views import WorkspaceAPIView
from deployments.api.serializers import StrictBooleanField
from deployments.selectors import deployment_get


# Named components of their own: other APIs have "kind" and "state" enums too.
@extend_schema_field({"type": "string", "enum": list(ProbeKind.values),
                      "description": "http: a GET on `path`; tcp: a connect; provider: the provider's status."},
                     component_name="HealthProbeKind")
class ProbeKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ProbeKind.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": list(HealthState.values)}, component_name="HealthState")
class HealthStateField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=HealthState.choices, **kwargs)


class HealthSerializer(serializers.Serializer):
    kind = ProbeKindField()
    path = serializers.CharField()
    port = serializers.IntegerField(allow_null=True)
    use_https = serializers.BooleanField()
    interval_s = serializers.IntegerField()
    timeout_s = serializers.FloatField()
    enabled = serializers.BooleanField()
    migratable = serializers.BooleanField(help_text="Price-aware migration may move this deployment.")
    failures_to_down = serializers.IntegerField()
    successes_to_up = serializers.IntegerField()
    probe = serializers.CharField(help_text="The probe in words.")
    state = HealthStateField()
    state_changed_at = serializers.DateTimeField(allow_null=True)
    consecutive_failures = serializers.IntegerField()
    consecutive_successes = serializers.IntegerField()
    last_result = serializers.CharField(help_text="ok | fail | unknown; empty before the first check.")
    last_error = serializers.CharField()
    last_latency_ms = serializers.FloatField(allow_null=True)
    last_checked_at = serializers.DateTimeField(allow_null=True)
    next_check_at = serializers.DateTimeField(allow_null=True)
    uptime_24h = serializers.FloatField(allow_null=True, help_text="Percent of the last 24 h not down; null if never checked.")
    uptime_7d = serializers.FloatField(allow_null=True)


OUTPUT_FIELDS = [name for name in HealthSerializer._declared_fields if name not in ("probe", "uptime_24h", "uptime_7d")]


class HealthUpdateSerializer(StrictSerializer):
    kind = ProbeKindField(required=False)
    path = StrictCharField(required=False, allow_blank=True, max_length=200, trim_whitespace=False)
    port = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=65535)
    use_https = StrictBooleanField(required=False)
    interval_s = serializers.IntegerField(required=False, min_value=10, max_value=3600)
    timeout_s = serializers.FloatField(required=False, min_value=0.5, max_value=10)
    enabled = StrictBooleanField(required=False)
    migratable = StrictBooleanField(required=False)


def _body(summary: dict) -> dict:
    check = summary["check"]
    body = {name: getattr(check, name) for name in OUTPUT_FIELDS}
    body |= {"probe": summary["probe"], "uptime_24h": summary["uptime_24h"], "uptime_7d": summary["uptime_7d"]}
    return HealthSerializer(body).data


class DeploymentHealthApi(WorkspaceAPIView):
    serializer_class = HealthUpdateSerializer

    def _deployment(self):
        return deployment_get(workspace=self.request.workspace, deployment_id=self.kwargs["deployment_id"])

    @extend_schema(operation_id="deployments_health_retrieve", summary="The deployment's health check",
                   description="Created with a default probe from the template on first use.",
                   responses={200: HealthSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, deployment_id):
        return Response(_body(health_summary(deployment=self._deployment())))

    @extend_schema(operation_id="deployments_health_partial_update",
                   summary="Change the probe or its cadence (Developer+)",
                   description="HTTP and TCP probes must use one of the deployment's ports; an HTTP path "
                               "starts with /. interval_s 10–3600, timeout_s 0.5–10.",
                   request=HealthUpdateSerializer, responses={200: HealthSerializer, **error_responses(*WRITE_ERRORS)})
    def patch(self, request, deployment_id):
        deployment = self._deployment()
        data = self.valid_input(partial=True)
        health_check_update(check=health_check_for(deployment=deployment), data=dict(data), user=request.user)
        return Response(_body(health_summary(deployment=deployment)))


urlpatterns = [
    path("deployments/<uuid:deployment_id>/health/", DeploymentHealthApi.as_view(), name="api-deployment-health"),
]
