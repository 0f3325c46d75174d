"""Automation pages: jobs."""

urlpatterns: list = []
