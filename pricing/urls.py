from django.urls import path

from pricing import views

app_name = "pricing"

urlpatterns = [
    path("", views.index, name="index"),
    path("compare/", views.compare, name="compare"),
    path("refresh/", views.refresh, name="refresh"),
    path("offers/<int:offer_id>/deploy/", views.offer_deploy, name="offer_deploy"),
]
