"""Automation pages: budgets."""

urlpatterns: list = []
