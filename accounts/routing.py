"""WebSocket routes of accounts; computehub/asgi.py collects every app's `websocket_urlpatterns`."""

from django.urls import path

from accounts.consumers import WorkspaceConsumer

websocket_urlpatterns = [
    path("ws/workspace/", WorkspaceConsumer.as_asgi()),
]
