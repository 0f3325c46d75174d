"""Automation routes under /api/v1/: rules/, price-alerts/, notification-channels/, notifications/,
budgets/, jobs/, deployments/<id>/health/."""

from automation.api import budgets, channels, health, jobs, price_alerts, rules

urlpatterns = (rules.urlpatterns + price_alerts.urlpatterns + channels.urlpatterns + budgets.urlpatterns
               + jobs.urlpatterns + health.urlpatterns)
