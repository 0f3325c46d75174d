from django.urls import path

from deployments import views

app_name = "deployments"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.launch, name="new"),
    path("templates/", views.gallery, name="templates"),
    path("templates/<int:template_id>/deploy/", views.template_offers, name="template_offers"),
    path("<uuid:deployment_id>/", views.detail, name="detail"),
    path("<uuid:deployment_id>/row/", views.row, name="row"),
    path("<uuid:deployment_id>/actions/<slug:action>/", views.action, name="action"),
    path("<uuid:deployment_id>/logs.txt", views.logs_txt, name="logs_txt"),
    path("<uuid:deployment_id>/metrics.json", views.metrics_json, name="metrics"),
    path("<uuid:deployment_id>/files/", views.folder, name="files"),
    path("<uuid:deployment_id>/files/download/", views.download, name="file_download"),
]
