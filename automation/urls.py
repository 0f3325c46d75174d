from django.urls import path

from automation import views

app_name = "automation"

urlpatterns = [
    path("", views.index, name="index"),
]
