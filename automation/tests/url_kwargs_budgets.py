"""`budget_id` for computehub/tests/test_api_access.py: a monthly budget of the addressed workspace."""

from automation.tests.factories_budgets import budget_for


def _budget(workspace, scenario):
    return budget_for(workspace).pk


URL_KWARGS = {"budget_id": _budget}
