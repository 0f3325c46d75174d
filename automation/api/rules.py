"""/api/v1/ routes: rules/ (+ <id>/, <id>/runs/), rule-runs/, policies/. Reads: any member;
writes: Developer and up. Serializers check JSON types only; automation.services.rules and
automation.policies check meaning (the same field errors as the pages)."""

from django.db import transaction
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from automation import conditions
from automation.api.fields import invalid_field
from automation.models import Rule, RuleRun, RunOutcome, Trigger
from automation.policies import POLICIES, policies_state, policy_disable, policy_enable
from automation.selectors import rules as selectors
from automation.services.rules import rule_create, rule_delete, rule_update
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.serializers import StrictCharField, StrictSerializer
from computehub.api.views import WorkspaceAPIView

# --- shapes -------------------------------------------------------------------------------------


class RuleSerializer(serializers.ModelSerializer):
    deployment = serializers.UUIDField(source="deployment_id", read_only=True, allow_null=True)
    conditions_text = serializers.SerializerMethodField(help_text="The conditions in plain words.")

    class Meta:
        model = Rule
        fields = ["id", "name", "enabled", "dry_run", "deployment", "trigger", "trigger_params", "conditions",
                  "conditions_text", "actions", "escalation", "cooldown_s", "max_per_hour", "policy", "position",
                  "next_fire_at", "created_at", "updated_at"]
        read_only_fields = fields

    def get_conditions_text(self, rule) -> str:
        try:
            return conditions.describe(rule.conditions or {})
        except (KeyError, TypeError):  # a rule stored before a field was renamed: say so, do not fail the list
            return "(conditions no longer valid)"


class RuleWriteSerializer(StrictSerializer):
    """POST needs name, trigger and actions; PATCH takes any subset. Meaning is checked by the service."""

    name = StrictCharField(max_length=200)
    enabled = serializers.BooleanField(required=False)
    dry_run = serializers.BooleanField(required=False)
    deployment = serializers.UUIDField(required=False, allow_null=True,
                                       help_text="Scope: one deployment; null for the whole workspace.")
    trigger = serializers.ChoiceField(choices=Trigger.choices)
    trigger_params = serializers.JSONField(required=False, help_text="Per trigger, e.g. idle "
                                           "{threshold_percent, minutes}; schedule {cron, timezone}.")
    conditions = serializers.JSONField(required=False, help_text="The JSON condition language "
                                       "({all|any: [...]}, {not: ...}, {field, op, value}).")
    actions = serializers.JSONField(help_text="1–10 actions, e.g. [{\"type\": \"restart\"}].")
    escalation = serializers.JSONField(required=False, help_text="Actions run once per capped hour.")
    cooldown_s = serializers.IntegerField(required=False)
    max_per_hour = serializers.IntegerField(required=False)
    position = serializers.IntegerField(required=False)


class RuleRunSerializer(serializers.ModelSerializer):
    rule = serializers.IntegerField(source="rule_id", read_only=True, allow_null=True)
    deployment = serializers.UUIDField(source="deployment_id", read_only=True, allow_null=True)
    event = serializers.SerializerMethodField()
    outcome = serializers.ChoiceField(choices=RunOutcome.choices, read_only=True)

    class Meta:
        model = RuleRun
        fields = ["id", "rule", "rule_name", "trigger", "deployment", "event", "outcome", "detail", "decision",
                  "actions", "dry_run", "started_at", "duration_ms"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_event(self, run) -> dict | None:
        event = run.event
        return None if event is None else {"id": event.pk, "type": event.type, "summary": event.summary,
                                           "created_at": event.created_at}


class PolicySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    defaults = serializers.DictField()
    enabled = serializers.BooleanField()


class PolicyWriteSerializer(StrictSerializer):
    slug = serializers.ChoiceField(choices=list(POLICIES))
    enabled = serializers.BooleanField()
    deployment = serializers.UUIDField(required=False, allow_null=True)
    params = serializers.DictField(required=False, help_text="The policy's parameters (see its defaults).")


# --- views --------------------------------------------------------------------------------------

DEPLOYMENT_FILTER = OpenApiParameter("deployment", OpenApiTypes.UUID,
                                     description="Only rules scoped to this deployment.")


def _deployment_of(request, deployment_id):
    if deployment_id in (None, ""):
        return None
    return selectors.deployment_for_filter(workspace=request.workspace, deployment_id=deployment_id)


class RuleListApi(WorkspaceAPIView):
    serializer_class = RuleWriteSerializer

    @extend_schema(operation_id="rules_list", parameters=[DEPLOYMENT_FILTER],
                   responses={200: RuleSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        deployment = _deployment_of(request, request.query_params.get("deployment"))
        return self.paginated(selectors.rules_for_workspace(workspace=request.workspace, deployment=deployment),
                              RuleSerializer)

    @extend_schema(operation_id="rules_create", summary="Create a rule (Developer+)",
                   description="Everything is validated first: a bad field is a 400 naming it, and nothing "
                               "is stored.", request=RuleWriteSerializer,
                   responses={201: RuleSerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        rule = rule_create(workspace=request.workspace, user=request.user, data=self.valid_input())
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(WorkspaceAPIView):
    serializer_class = RuleWriteSerializer

    def _rule(self):
        return selectors.rule_get(workspace=self.request.workspace, rule_id=self.kwargs["rule_id"])

    @extend_schema(operation_id="rules_retrieve", responses={200: RuleSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, rule_id):
        return Response(RuleSerializer(self._rule()).data)

    @extend_schema(operation_id="rules_partial_update", summary="Change a rule (Developer+)",
                   request=RuleWriteSerializer(partial=True),
                   responses={200: RuleSerializer, **error_responses(*WRITE_ERRORS)})
    def patch(self, request, rule_id):
        rule = self._rule()
        return Response(RuleSerializer(rule_update(rule=rule, user=request.user,
                                                   data=self.valid_input(partial=True))).data)

    @extend_schema(operation_id="rules_destroy", summary="Delete a rule (Developer+); its runs stay",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, rule_id):
        rule_delete(rule=self._rule(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RuleRunsApi(WorkspaceAPIView):
    @extend_schema(operation_id="rules_runs_list", summary="What this rule decided and did, newest first",
                   responses={200: RuleRunSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request, rule_id):
        rule = selectors.rule_get(workspace=request.workspace, rule_id=rule_id)
        return self.paginated(selectors.rule_runs(workspace=request.workspace, rule=rule), RuleRunSerializer)


class WorkspaceRuleRunsApi(WorkspaceAPIView):
    @extend_schema(operation_id="rule_runs_list", summary="Recent rule runs of the workspace, newest first",
                   parameters=[OpenApiParameter("deployment", OpenApiTypes.UUID, description="Only this deployment.")],
                   responses={200: RuleRunSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        deployment = _deployment_of(request, request.query_params.get("deployment"))
        return self.paginated(selectors.rule_runs(workspace=request.workspace, deployment=deployment),
                              RuleRunSerializer)


def _policies(workspace, deployment) -> list[dict]:
    state = policies_state(workspace=workspace, deployment=deployment)
    return [{"slug": slug, "name": policy.name, "description": policy.description, "defaults": policy.defaults,
             "enabled": state[slug]} for slug, policy in POLICIES.items()]


class PolicyApi(WorkspaceAPIView):
    serializer_class = PolicyWriteSerializer

    @extend_schema(operation_id="policies_list", summary="Built-in policies and whether each is on for the scope",
                   parameters=[OpenApiParameter("deployment", OpenApiTypes.UUID,
                                                description="This deployment; without it, the whole workspace.")],
                   responses={200: PolicySerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        deployment = _deployment_of(request, request.query_params.get("deployment"))
        return Response(PolicySerializer(_policies(request.workspace, deployment), many=True).data)

    @extend_schema(operation_id="policies_set", summary="Switch a policy on or off (Developer+)",
                   description="On again updates its parameters; its rules are ordinary rules you can edit.",
                   request=PolicyWriteSerializer,
                   responses={200: PolicySerializer(many=True), **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        data = self.valid_input()
        deployment = _deployment_or_400(request, data.get("deployment"))
        with transaction.atomic():
            if data["enabled"]:
                policy_enable(workspace=request.workspace, user=request.user, slug=data["slug"],
                              deployment=deployment, params=data.get("params"))
            else:
                policy_disable(workspace=request.workspace, user=request.user, slug=data["slug"],
                               deployment=deployment)
        return Response(PolicySerializer(_policies(request.workspace, deployment), many=True).data)


def _deployment_or_400(request, deployment_id):
    try:
        return _deployment_of(request, deployment_id)
    except Http404:
        raise invalid_field("deployment", "No such deployment in this workspace.") from None


urlpatterns = [
    path("rules/", RuleListApi.as_view(), name="api-rule-list"),
    path("rules/<int:rule_id>/", RuleDetailApi.as_view(), name="api-rule-detail"),
    path("rules/<int:rule_id>/runs/", RuleRunsApi.as_view(), name="api-rule-runs"),
    path("rule-runs/", WorkspaceRuleRunsApi.as_view(), name="api-rule-run-list"),
    path("policies/", PolicyApi.as_view(), name="api-policy-list"),
]
