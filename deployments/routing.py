"""WebSocket routes of deployments; computehub/asgi.py collects every app's `websocket_urlpatterns`."""

from django.urls import path

from deployments.consumers import DeploymentConsumer

websocket_urlpatterns = [
    path("ws/deployments/<uuid:deployment_id>/", DeploymentConsumer.as_asgi()),
]
