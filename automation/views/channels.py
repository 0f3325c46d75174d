"""Automation pages: channels."""

urlpatterns: list = []
