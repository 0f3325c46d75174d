"""Automation pages: price_alerts."""

urlpatterns: list = []
