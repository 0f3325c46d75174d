"""Automation pages: health."""

urlpatterns: list = []
