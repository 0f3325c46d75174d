"""/api/v1/ routes: budgets."""

urlpatterns: list = []
