"""Every REST route lives under /api/v1/; each app contributes its own api/urls.py."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("pricing.api.urls")),
    path("", include("providers.api.urls")),
    path("", include("deployments.api.urls")),
    path("", include("automation.api.urls")),
]
