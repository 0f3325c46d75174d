from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from computehub import views
from computehub.api.errors import json_error_view

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("prices/", include("pricing.urls")),
    path("deployments/", include("deployments.urls")),
    path("automation/", include("automation.urls")),
    path("providers/", include("providers.urls")),
    path("billing/", include("billing.urls")),
    path("api/v1/", include("computehub.api_urls")),
    re_path(r"^api/v1/.*$", json_error_view("not_found", "No such API route.", 404)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler403 = "computehub.views.permission_denied"
handler404 = "computehub.views.not_found"
handler500 = "computehub.views.server_error"
