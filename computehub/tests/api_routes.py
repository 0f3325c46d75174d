"""Every REST route under /api/v1/, read from the URLconf so new endpoints are covered without
anyone listing them. Used by the generic access test and the schema test."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"
# The JSON 404 for unknown API paths (computehub/urls.py); it is not an endpoint.
CATCH_ALL = r"^api/v1/.*$"
WRITE_METHODS = ("post", "put", "patch", "delete")
HTTP_METHODS = ("get", *WRITE_METHODS)


@dataclass(frozen=True)
class ApiRoute:
    route: str  # "api/v1/workspaces/<slug:slug>/members/"
    name: str  # reverse()-able, namespaces included
    kwargs: tuple[str, ...]
    view_class: type | None

    @property
    def methods(self) -> list[str]:
        return [m for m in HTTP_METHODS if self.view_class is not None and hasattr(self.view_class, m)]

    @property
    def schema_path(self) -> str:
        """The path as OpenAPI writes it: /api/v1/workspaces/{slug}/members/."""
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.route)


def _kwarg_names(pattern) -> list[str]:
    return list(pattern.pattern.regex.groupindex)


def _walk(patterns, prefix="", namespaces=(), kwargs=()):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        names = (*kwargs, *_kwarg_names(entry))
        if isinstance(entry, URLResolver):
            spaces = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, route, spaces, names)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespaces, entry.name)) if entry.name else ""
            yield ApiRoute(route, name, names, getattr(entry.callback, "view_class", None))


def api_routes() -> list[ApiRoute]:
    routes = _walk(get_resolver().url_patterns)
    return [r for r in routes if r.route.lstrip("^").startswith(API_PREFIX) and r.route != CATCH_ALL]
