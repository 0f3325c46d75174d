"""/api/v1/ routes: jobs. The batch queue: submit (Developer+), list (?status=), one job with its
attempts, cancel. Views parse and shape; automation.services.jobs validates and writes."""

from django.urls import path, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from automation.api.fields import invalid_field
from automation.models import Job, JobAttempt, JobStatus
from automation.selectors.jobs import job_get, jobs_listed
from automation.services.jobs import job_cancel, job_submit
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.serializers import StrictCharField, StrictSerializer
from computehub.api.views import WorkspaceAPIView
from deployments.api.serializers import StrictBooleanField


@extend_schema_field({"type": "string", "enum": list(JobStatus.values),
                      "description": "queued | placing | running | succeeded | failed | cancelled"},
                     component_name="JobStatusValue")
class JobStatusField(serializers.CharField):
    pass


def _deployment_page(deployment_id) -> str | None:
    return reverse("deployments:detail", args=[deployment_id]) if deployment_id else None


class JobAttemptSerializer(serializers.ModelSerializer):
    deployment_url = serializers.SerializerMethodField(help_text="The attempt's deployment page: its logs and timeline.")

    class Meta:
        model = JobAttempt
        fields = ["number", "provider", "offer_id", "price_per_hour", "spot", "outcome", "exit_code", "cost_usd",
                  "detail", "deployment", "deployment_url", "started_at", "finished_at"]
        read_only_fields = fields

    def get_deployment_url(self, attempt) -> str | None:
        return _deployment_page(attempt.deployment_id)


class JobSerializer(serializers.ModelSerializer):
    status = JobStatusField(read_only=True)
    attempt_count = serializers.IntegerField(source="attempts", read_only=True, help_text="Tries made so far.")
    provider = serializers.SerializerMethodField(help_text="Provider of the current (or last) attempt.")
    price_per_hour = serializers.SerializerMethodField(help_text="USD/h of the current (or last) attempt.")
    deployment_url = serializers.SerializerMethodField(help_text="The current (or last) attempt's deployment page.")

    class Meta:
        model = Job
        fields = ["id", "name", "status", "template", "image", "command", "env", "gpu_model", "min_gpus", "min_vram_gb",
                  "max_price_per_hour", "max_runtime_s", "max_retries", "allow_spot", "providers", "attempt_count",
                  "deployment", "deployment_url", "provider", "price_per_hour", "exit_code", "cost_usd", "last_error",
                  "cancel_requested", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    @staticmethod
    def _last_attempt(job) -> JobAttempt | None:
        rows = list(job.attempt_rows.all())  # prefetched by the selector
        return rows[-1] if rows else None

    def get_provider(self, job) -> str | None:
        attempt = self._last_attempt(job)
        return attempt.provider if attempt else None

    def get_price_per_hour(self, job) -> float | None:
        attempt = self._last_attempt(job)
        return attempt.price_per_hour if attempt else None

    def get_deployment_url(self, job) -> str | None:
        return _deployment_page(job.deployment_id)


class JobDetailSerializer(JobSerializer):
    attempts = JobAttemptSerializer(many=True, read_only=True, source="attempt_rows")

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "attempts"]
        read_only_fields = fields


class JobCreateSerializer(StrictSerializer):
    """Types only; automation.services.jobs checks the meaning (and names every bad field)."""

    name = StrictCharField(allow_blank=True, max_length=200)
    template = serializers.IntegerField(required=False, allow_null=True, help_text="A template's id; fills image and command.")
    image = StrictCharField(required=False, allow_blank=True, max_length=300)
    command = serializers.ListField(child=StrictCharField(allow_blank=True, trim_whitespace=False), required=False,
                                    help_text="argv; required unless a template gives one.")
    env = serializers.DictField(child=StrictCharField(allow_blank=True, trim_whitespace=False), required=False,
                                help_text="Plain variables (not secrets).")
    gpu_model = StrictCharField(required=False, allow_blank=True, help_text="A GPU model id from /api/v1/gpus/; blank: any.")
    min_gpus = serializers.IntegerField(required=False, help_text="1–16 (default 1).")
    min_vram_gb = serializers.FloatField(required=False, help_text="Per GPU (default 0).")
    max_price_per_hour = serializers.FloatField(help_text="The most the job may cost per hour, USD.")
    max_runtime_s = serializers.IntegerField(required=False, help_text="60 s to 7 days (default 3600).")
    max_retries = serializers.IntegerField(required=False, help_text="0–10 (default 2).")
    allow_spot = StrictBooleanField(required=False, help_text="Spot (interruptible) offers allowed (default true).")
    providers = serializers.ListField(child=StrictCharField(), required=False,
                                      help_text="Connected provider kinds to use; empty: any.")


def _status_filter(request) -> str | None:
    value = request.query_params.get("status") or None
    if value is not None and value not in JobStatus.values:
        raise invalid_field("status", f"One of {', '.join(JobStatus.values)}.")
    return value


class JobListApi(WorkspaceAPIView):
    serializer_class = JobCreateSerializer

    @extend_schema(operation_id="jobs_list", summary="The batch queue, newest first",
                   parameters=[OpenApiParameter("status", str, enum=list(JobStatus.values), description="Only this status.")],
                   responses={200: JobSerializer(many=True), **error_responses(400, *READ_ERRORS)})
    def get(self, request):
        return self.paginated(jobs_listed(workspace=request.workspace, status=_status_filter(request)), JobSerializer)

    @extend_schema(operation_id="jobs_create", summary="Submit a job (Developer+)",
                   description="Queued at once; the scheduler places it on the cheapest offer that fits within "
                               "seconds. Every field is checked first: a bad one is a 400 naming it, nothing stored.",
                   request=JobCreateSerializer, responses={201: JobDetailSerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        job = job_submit(workspace=request.workspace, user=request.user, data=dict(self.valid_input()))
        job = job_get(workspace=request.workspace, job_id=job.pk)
        return Response(JobDetailSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(WorkspaceAPIView):
    @extend_schema(operation_id="jobs_retrieve", summary="One job with its attempts",
                   responses={200: JobDetailSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, job_id):
        return Response(JobDetailSerializer(job_get(workspace=request.workspace, job_id=job_id)).data)


class JobCancelApi(WorkspaceAPIView):
    @extend_schema(operation_id="jobs_cancel", summary="Cancel a job (Developer+)",
                   description="A queued job ends at once; a placed one has its deployment deleted by the "
                               "scheduler within seconds. A finished job is 409.",
                   request=None, responses={202: JobDetailSerializer, **error_responses(401, 403, 404, 409)})
    def post(self, request, job_id):
        job = job_cancel(job=job_get(workspace=request.workspace, job_id=job_id), user=request.user)
        return Response(JobDetailSerializer(job_get(workspace=request.workspace, job_id=job.pk)).data,
                        status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("jobs/", JobListApi.as_view(), name="api-job-list"),
    path("jobs/<int:job_id>/", JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:job_id>/cancel/", JobCancelApi.as_view(), name="api-job-cancel"),
]
