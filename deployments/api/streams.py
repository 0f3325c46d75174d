"""A deployment's logs, metrics and timeline over REST (`?after=` to continue where a previous
call, or a WebSocket, left off). Included by deployments/api/urls.py; views only translate HTTP."""

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from computehub.api.schema import READ_ERRORS, error_responses
from computehub.api.serializers import StrictSerializer
from computehub.api.views import WorkspaceAPIView
from deployments.logs import KEEP_LINES, last_log_seq, log_lines_after
from deployments.metrics import WINDOWS, metric_samples_since, metric_window
from deployments.selectors import deployment_events, deployment_get

# --- query parameters ---------------------------------------------------------------------------


class LogQuerySerializer(StrictSerializer):
    after = serializers.IntegerField(min_value=0, default=0, help_text="Return lines with a greater seq.")
    limit = serializers.IntegerField(min_value=1, max_value=KEEP_LINES, default=1000)


class MetricQuerySerializer(StrictSerializer):
    since = serializers.DateTimeField(required=False, help_text="Raw samples taken at or after this time.")
    window = serializers.ChoiceField(choices=sorted(WINDOWS), required=False,
                                     help_text="A chart's window, averaged to at most 300 points (default 1h).")

    def validate(self, attrs):
        if "since" in attrs and "window" in attrs:
            raise serializers.ValidationError({"since": ["Give either since or window, not both."]})
        return attrs


class EventQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, default=0, help_text="Return events with a greater id.")
    page = serializers.IntegerField(min_value=1, required=False)
    page_size = serializers.IntegerField(min_value=1, required=False)


def query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)  # a 400 in the shared error shape
    return serializer.validated_data


# --- output -------------------------------------------------------------------------------------


class LogLineSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    text = serializers.CharField()


class LogPageSerializer(serializers.Serializer):
    lines = LogLineSerializer(many=True)
    next_after = serializers.IntegerField(help_text="Pass as `after` to continue.")
    has_more = serializers.BooleanField()


class MetricPointSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    values = serializers.DictField(child=serializers.FloatField())


class MetricSeriesSerializer(serializers.Serializer):
    window = serializers.CharField(allow_null=True)
    points = MetricPointSerializer(many=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    message = serializers.CharField()
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    data = serializers.JSONField()
    created_at = serializers.DateTimeField()


# --- views --------------------------------------------------------------------------------------


class DeploymentLogsApi(WorkspaceAPIView):
    @extend_schema(operation_id="deployment_logs", summary="Log lines after a sequence number",
                   parameters=[LogQuerySerializer],
                   responses={200: LogPageSerializer, **error_responses(400, *READ_ERRORS)})
    def get(self, request, deployment_id):
        params = query(LogQuerySerializer, request)
        deployment = deployment_get(workspace=request.workspace, deployment_id=deployment_id)
        rows = log_lines_after(deployment=deployment, after_seq=params["after"], limit=params["limit"])
        next_after = rows[-1][0] if rows else params["after"]
        return Response({"lines": [{"seq": seq, "text": text} for seq, text in rows], "next_after": next_after,
                         "has_more": next_after < last_log_seq(deployment.pk)})


class DeploymentMetricsApi(WorkspaceAPIView):
    @extend_schema(operation_id="deployment_metrics", summary="Metric samples for a chart",
                   parameters=[MetricQuerySerializer],
                   responses={200: MetricSeriesSerializer, **error_responses(400, *READ_ERRORS)})
    def get(self, request, deployment_id):
        params = query(MetricQuerySerializer, request)
        deployment = deployment_get(workspace=request.workspace, deployment_id=deployment_id)
        if "since" in params:
            samples = metric_samples_since(deployment=deployment, since=params["since"])
            points, window = [{"at": s.at, "values": s.values} for s in samples], None
        else:
            window = params.get("window", "1h")
            points = metric_window(deployment=deployment, window=window, now=timezone.now())
        return Response(MetricSeriesSerializer({"window": window, "points": points}).data)


class DeploymentEventsApi(WorkspaceAPIView):
    @extend_schema(operation_id="deployment_events", summary="The deployment's timeline (audit log)",
                   parameters=[EventQuerySerializer],
                   responses={200: EventSerializer(many=True), **error_responses(400, *READ_ERRORS)})
    def get(self, request, deployment_id):
        params = query(EventQuerySerializer, request)
        deployment = deployment_get(workspace=request.workspace, deployment_id=deployment_id)
        return self.paginated(deployment_events(deployment=deployment).filter(id__gt=params["after"]), EventSerializer)


urlpatterns = [
    path("deployments/<uuid:deployment_id>/logs/", DeploymentLogsApi.as_view(), name="api-deployment-logs"),
    path("deployments/<uuid:deployment_id>/metrics/", DeploymentMetricsApi.as_view(), name="api-deployment-metrics"),
    path("deployments/<uuid:deployment_id>/events/", DeploymentEventsApi.as_view(), name="api-deployment-events"),
]
