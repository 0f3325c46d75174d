"""Template helpers for the page chrome: the main navigation and small display bits."""

from django import template
from django.urls import reverse

from accounts.models import Role

register = template.Library()

# (label, url name, path prefixes that count as "in this section")
NAV = [
    ("Dashboard", "dashboard", ()),
    ("Prices", "pricing:index", ("/prices/",)),
    ("Deployments", "deployments:index", ("/deployments/",)),
    ("Automation", "automation:index", ("/automation/",)),
    ("Providers", "providers:index", ("/providers/",)),
    ("Team", "team", ("/team/", "/workspaces/")),
    ("Billing", "billing:index", ("/billing/",)),
]


def _is_current(path: str, url: str, prefixes: tuple) -> bool:
    return path == url or any(path.startswith(prefix) for prefix in prefixes)


@register.inclusion_tag("partials/nav.html", takes_context=True)
def main_nav(context):
    path = context["request"].path
    items = []
    for label, name, prefixes in NAV:
        url = reverse(name)
        items.append({"label": label, "url": url, "current": _is_current(path, url, prefixes)})
    return {"items": items}


@register.simple_tag
def role_choices():
    return Role.choices


@register.filter
def initial(user) -> str:
    """One letter for an avatar circle."""
    text = (getattr(user, "name", "") or getattr(user, "email", "") or "?").strip()
    return text[:1].upper() or "?"
