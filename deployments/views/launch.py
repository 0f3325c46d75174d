"""Launching: the launch form (from an offer, optionally filled from a template), the template
gallery with its search, and a template's cheapest offers across every connected provider."""

import shlex
import uuid

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from computehub import htmx
from computehub.errors import ApplicationError
from deployments import selectors, services
from deployments.forms import LaunchForm, env_rows_initial
from deployments.templates_service import template_get, template_launch_defaults, templates_visible
from pricing import selectors as pricing
from pricing.gpu_specs import GPU_SPECS
from pricing.models import Offer

CHEAPEST = 8  # offers shown for a template's one-click deploy
# Service field → form field, where they are named differently.
FIELD_ALIASES = {"secret_env": "env", "offer_id": None, "credential": None}


def _offer_or_none(request, raw) -> Offer | None:
    """The workspace's offer, or None when it is not a number or has disappeared since the page
    was opened (a refresh replaces offers)."""
    if not str(raw or "").isdigit():
        return None
    return pricing.offers_for_workspace(workspace=request.workspace).select_related("credential").filter(pk=raw).first()


def _template_or_none(request, raw):
    return template_get(workspace=request.workspace, template_id=raw) if str(raw or "").isdigit() else None


def _initial(offer: Offer, template) -> dict:
    base = {"name": _default_name(template, offer), "disk_gb": 50, "spot": offer.spot}
    if template is None:
        return base
    defaults = template_launch_defaults(template, offer.provider)
    return base | {"image": defaults["image"], "command": shlex.join(defaults["command"]),
                   "disk_gb": defaults["disk_gb"], "ports": ", ".join(str(p) for p in defaults["ports"])}


def _default_name(template, offer) -> str:
    stem = slugify(template.name if template else offer.gpu_name)[:60] or "deployment"
    return f"{stem}-{uuid.uuid4().hex[:4]}"


@require_http_methods(["GET", "HEAD", "POST"])
@workspace_role_required(read_role=Role.DEVELOPER)
def launch(request):
    source = request.POST if request.method == "POST" else request.GET
    offer, template = _offer_or_none(request, source.get("offer")), _template_or_none(request, source.get("template"))
    if offer is None and template is not None and request.method != "POST":
        return redirect("deployments:template_offers", template_id=template.pk)
    if offer is None:
        return render(request, "deployments/launch_missing.html", {"offer_id": source.get("offer")}, status=404 if source.get("offer") else 200)
    capabilities = pricing.provider_capabilities(offer.provider)
    allow_spot = bool(capabilities and capabilities.spot)
    if request.method == "POST":
        return _submit(request, offer, template, LaunchForm(request.POST, allow_spot=allow_spot))
    form = LaunchForm(initial=_initial(offer, template), allow_spot=allow_spot)
    form.env_rows = env_rows_initial(template.env if template else {})
    return _render_form(request, offer, template, form)


def _submit(request, offer, template, form):
    if form.is_valid():
        try:
            deployment = services.deployment_create_from_offer(
                workspace=request.workspace, user=request.user, offer=offer, template=template, **form.service_arguments())
        except ApplicationError as exc:
            _put_back(form, exc)
        else:
            return htmx.redirect(request, reverse("deployments:detail", args=[deployment.pk]))
    form.forget_secrets()
    return _render_form(request, offer, template, form, status=422)


def _put_back(form, exc: ApplicationError) -> None:
    """The service's field errors onto the form's fields; the rest above the form."""
    if not exc.fields:
        form.add_error(None, exc.message)
    for field, problems in exc.fields.items():
        target = FIELD_ALIASES.get(field, field)
        if target == "env":
            form.env_errors = [*getattr(form, "env_errors", []), *problems]
        elif target in form.fields:
            form.add_error(target, problems)
        else:
            form.add_error(None, problems)


def _render_form(request, offer, template, form, status=200):
    context = {"offer": offer, "template": template, "form": form, "spec": GPU_SPECS.get(offer.gpu_model),
               "env_errors": getattr(form, "env_errors", [])}
    return render(request, "deployments/launch.html", context, status=status)


@require_safe
@workspace_role_required
def gallery(request):
    q = request.GET.get("q", "")[:100]
    context = {"templates": templates_visible(workspace=request.workspace, q=q), "q": q,
               "can_deploy": request.membership.allows(Role.DEVELOPER)}
    return htmx.render_page(request, "deployments/gallery.html", context, partial="deployments/partials/template_grid.html")


@require_safe
@workspace_role_required(read_role=Role.DEVELOPER)
def template_offers(request, template_id: int):
    template = template_get(workspace=request.workspace, template_id=template_id)
    offers = selectors.template_offers(workspace=request.workspace, template=template, limit=CHEAPEST)
    for offer in offers:
        offer.spec = GPU_SPECS.get(offer.gpu_model)
    return render(request, "deployments/template_offers.html", {"template": template, "offers": offers})
