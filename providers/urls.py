from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("", views.index, name="index"),
    path("connect/", views.connect, name="connect"),
    path("accounts/<uuid:credential_id>/delete/", views.credential_delete, name="credential_delete"),
]
