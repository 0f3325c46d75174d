"""Pricing routes under /api/v1/: offers search, refresh, GPU specs (and price history)."""

from django.urls import include, path

from pricing.api import views

urlpatterns = [
    path("offers/", views.OfferListApi.as_view(), name="api-offer-list"),
    path("offers/refresh/", views.OfferRefreshApi.as_view(), name="api-offer-refresh"),
    path("gpus/", views.GpuListApi.as_view(), name="api-gpu-list"),
    # Price history and best value (pricing/api/history.py) are routed here.
    path("", include("pricing.api.history")),
]
