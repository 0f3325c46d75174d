"""Deployments and templates routes under /api/v1/."""

from django.urls import include, path

from deployments.api import views

urlpatterns = [
    path("templates/", views.TemplateListApi.as_view(), name="api-template-list"),
    path("templates/<int:template_id>/", views.TemplateDetailApi.as_view(), name="api-template-detail"),
    path("deployments/", views.DeploymentListApi.as_view(), name="api-deployment-list"),
    path("deployments/<uuid:deployment_id>/", views.DeploymentDetailApi.as_view(), name="api-deployment-detail"),
    path("deployments/<uuid:deployment_id>/start/", views.DeploymentStartApi.as_view(), name="api-deployment-start"),
    path("deployments/<uuid:deployment_id>/stop/", views.DeploymentStopApi.as_view(), name="api-deployment-stop"),
    path("deployments/<uuid:deployment_id>/restart/", views.DeploymentRestartApi.as_view(),
         name="api-deployment-restart"),
    # logs/, metrics/, events/: owned by the streaming engineer in deployments/api/streams.py.
    path("", include("deployments.api.streams")),
]
