"""Automation's REST routes, one module per area, each with its own `urlpatterns`."""
