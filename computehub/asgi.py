"""ASGI entry point for daphne: Django for HTTP, Channels consumers for WebSockets."""

import os
from importlib import import_module

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "computehub.settings")
# Set up Django (apps, settings) before importing consumers, which import models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

# Each app with consumers has a routing.py with `websocket_urlpatterns`; add it here (one line).
WEBSOCKET_ROUTING_MODULES = [
    "accounts.routing",
    "deployments.routing",
]


def websocket_urlpatterns() -> list:
    return [route for module in WEBSOCKET_ROUTING_MODULES for route in import_module(module).websocket_urlpatterns]


# Cookies → session → user, and only from our own origins (ALLOWED_HOSTS), so another site's
# page cannot open a socket with a visitor's cookies.
websocket_application = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns())))

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
