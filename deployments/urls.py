from django.urls import path

from deployments import views

app_name = "deployments"

urlpatterns = [
    path("", views.index, name="index"),
]
