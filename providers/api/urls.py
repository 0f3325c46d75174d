"""Providers routes under /api/v1/."""

from django.urls import path

from providers.api import views

urlpatterns = [
    path("providers/", views.ProviderKindListApi.as_view(), name="api-provider-list"),
    path("credentials/", views.CredentialListApi.as_view(), name="api-credential-list"),
    path("credentials/<uuid:credential_id>/", views.CredentialDetailApi.as_view(), name="api-credential-detail"),
]
