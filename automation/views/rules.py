"""Automation pages: rules."""

urlpatterns: list = []
