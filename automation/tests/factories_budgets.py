"""Rows for the budgets, spend and cost-cap tests: budgets, and cap_stop operations as the rules
engine's start_operation would leave them."""

from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal

from automation.models import Budget, BudgetPeriod, Operation, OperationKind

# A fixed clock in the middle of a month, so no test depends on when it runs.
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=dt_timezone.utc)


def budget_for(workspace, *, deployment=None, period=None, limit_usd="10.00", warn_percent=80, **extra) -> Budget:
    period = period or (BudgetPeriod.TOTAL if deployment is not None else BudgetPeriod.MONTH)
    return Budget.objects.create(workspace=workspace, deployment=deployment, period=period,
                                 limit_usd=Decimal(limit_usd), warn_percent=warn_percent, **extra)


def cap_stop_operation(deployment, *, action="stop", **params) -> Operation:
    return Operation.objects.create(workspace=deployment.workspace, kind=OperationKind.CAP_STOP, source=deployment,
                                    reason="Budget reached", data={"params": {"action": action, **params}})
