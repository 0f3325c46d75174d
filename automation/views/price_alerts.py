"""The price alerts page: each alert beside the cheapest matching offer now, a form to add one
(field errors inline, HTMX), delete. Developers and Admins write; Viewers read."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation.selectors.price_alerts import gpu_model_choices, price_alert_get, price_alerts_with_cheapest
from automation.services import price_alerts as services
from computehub import htmx
from computehub.forms import submit_form
from providers.models import provider_display_name


class PriceAlertForm(forms.Form):
    """Shapes only; the service decides what is a known GPU, a sane price, a known provider."""

    gpu_model = forms.ChoiceField(label="GPU", choices=lambda: [("", "Choose a GPU")] + gpu_model_choices())
    max_price_per_hour = forms.DecimalField(label="At or below ($ per GPU-hour)", min_value=0, decimal_places=3,
                                            max_digits=8, widget=forms.NumberInput(attrs={"step": "0.01"}))
    min_gpus = forms.IntegerField(label="At least this many GPUs", initial=1)
    provider = forms.ChoiceField(label="Provider", required=False, choices=lambda: [("", "Any provider")] + [
        (kind, provider_display_name(kind)) for kind in services.ALERT_PROVIDERS])
    include_spot = forms.BooleanField(label="Include spot (interruptible) offers", required=False)


def _context(request, form=None) -> dict:
    return {"alerts": price_alerts_with_cheapest(workspace=request.workspace), "form": form or PriceAlertForm(),
            "can_write": request.membership.allows(Role.DEVELOPER)}


@require_safe
@workspace_role_required
def index(request):
    return htmx.render_page(request, "automation/price_alerts.html", _context(request))


@require_POST
@workspace_role_required
def create(request):
    form = PriceAlertForm(request.POST)
    ok, alert = submit_form(form, lambda data: services.price_alert_create(
        workspace=request.workspace, user=request.user, data=data))
    if not ok:
        return htmx.render_page(request, "automation/price_alerts.html", _context(request, form),
                                partial="automation/partials/price_alerts_form.html", status=422)
    messages.success(request, "Price alert saved: you will be told when the price is reached.")
    return htmx.redirect(request, reverse("automation:price-alerts"))


@require_POST
@workspace_role_required
def delete(request, alert_id):
    services.price_alert_delete(alert=price_alert_get(workspace=request.workspace, alert_id=alert_id))
    messages.success(request, "Price alert deleted.")
    return htmx.render_fragment(request, None) if htmx.is_partial(request) else redirect("automation:price-alerts")


urlpatterns = [
    path("price-alerts/", index, name="price-alerts"),
    path("price-alerts/new/", create, name="price-alert-create"),
    path("price-alerts/<int:alert_id>/delete/", delete, name="price-alert-delete"),
]
