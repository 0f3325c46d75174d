"""/api/v1/ routes: budgets/ and budgets/<id>/. Reads: any member, with what each budget's
period has spent so far (live); writes: Developer and up. Serializers check JSON types; the
budgets service checks meaning (limit > 0, period fits the scope, the deployment is yours)."""

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from automation.models import BudgetPeriod
from automation.selectors import spend as selectors
from automation.services import budgets as services
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.serializers import StrictSerializer
from computehub.api.views import WorkspaceAPIView
from deployments.api.serializers import StrictBooleanField


class AmountField(serializers.FloatField):
    """A JSON number (or numeric string) handed to the service as given, so the service's one
    set of rules (and messages) decides what a valid limit is."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        return data


class BudgetSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="budget.pk")
    deployment = serializers.UUIDField(source="budget.deployment_id", allow_null=True,
                                       help_text="Null for the workspace's monthly budget.")
    deployment_name = serializers.CharField(source="budget.deployment.name", allow_null=True, default=None)
    period = serializers.ChoiceField(source="budget.period", choices=BudgetPeriod.choices)
    period_key = serializers.CharField(help_text='The current period: "total", "2026-11-29" or "2026-11".')
    limit_usd = serializers.FloatField(source="budget.limit_usd")
    warn_percent = serializers.IntegerField(source="budget.warn_percent")
    enabled = serializers.BooleanField(source="budget.enabled")
    spent_usd = serializers.FloatField(source="spent", help_text="Spent in the current period, live.")
    percent = serializers.FloatField(help_text="spent_usd / limit_usd × 100.")
    state = serializers.ChoiceField(choices=["ok", "warning", "reached"])
    reached_at = serializers.DateTimeField(source="budget.reached_at", allow_null=True)
    created_at = serializers.DateTimeField(source="budget.created_at")


class BudgetCreateSerializer(StrictSerializer):
    deployment = serializers.UUIDField(required=False, allow_null=True,
                                       help_text="Leave out for a workspace budget (per month).")
    period = serializers.ChoiceField(choices=BudgetPeriod.choices,
                                     help_text="total or day for a deployment; month for the workspace.")
    limit_usd = AmountField(help_text="More than 0, in USD.")
    warn_percent = serializers.IntegerField(required=False, help_text="1–99 (default 80).")


class BudgetUpdateSerializer(StrictSerializer):
    period = serializers.ChoiceField(choices=BudgetPeriod.choices, required=False)
    limit_usd = AmountField(required=False)
    warn_percent = serializers.IntegerField(required=False)
    enabled = StrictBooleanField(required=False)


def _progress(request, budget):
    figures = selectors.spend_totals(workspace=request.workspace, deployment=budget.deployment)
    return BudgetSerializer(selectors.progress_of(budget, figures, timezone.now())).data


class BudgetListApi(WorkspaceAPIView):
    serializer_class = BudgetCreateSerializer

    @extend_schema(operation_id="budgets_list", summary="Budgets, with what their current period has spent",
                   responses={200: BudgetSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        return self.paginated(selectors.budgets_with_progress(workspace=request.workspace), BudgetSerializer)

    @extend_schema(operation_id="budgets_create", summary="Create a budget (Developer+)",
                   description="A warning event at `warn_percent`, a `budget_reached` event at 100% (what the Cost "
                               "cap policy acts on). Bad input is a 400 naming the fields; nothing is stored.",
                   request=BudgetCreateSerializer, responses={201: BudgetSerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        budget = services.budget_create(workspace=request.workspace, user=request.user, **self.valid_input())
        return Response(_progress(request, budget), status=status.HTTP_201_CREATED)


class BudgetDetailApi(WorkspaceAPIView):
    serializer_class = BudgetUpdateSerializer

    def _budget(self):
        return selectors.budget_get(workspace=self.request.workspace, budget_id=self.kwargs["budget_id"])

    @extend_schema(operation_id="budgets_retrieve", responses={200: BudgetSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, budget_id):
        return Response(_progress(request, self._budget()))

    @extend_schema(operation_id="budgets_partial_update", summary="Change a budget (Developer+)",
                   description="A changed limit, percentage or period re-arms the warning and the cap.",
                   request=BudgetUpdateSerializer, responses={200: BudgetSerializer, **error_responses(*WRITE_ERRORS)})
    def patch(self, request, budget_id):
        budget = self._budget()
        budget = services.budget_update(budget=budget, user=request.user, **self.valid_input(partial=True))
        return Response(_progress(request, budget))

    @extend_schema(operation_id="budgets_destroy", summary="Delete a budget (Developer+)",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, budget_id):
        services.budget_delete(budget=self._budget(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("budgets/", BudgetListApi.as_view(), name="api-budget-list"),
    path("budgets/<int:budget_id>/", BudgetDetailApi.as_view(), name="api-budget-detail"),
]
