"""Automation pages, one module per area, each with its own `urlpatterns` (joined in automation/urls.py)."""
