"""Pages of the price comparison: the Prices page (full page or its results fragment), the
compare drawer, the deploy placeholder and "Refresh now".

Views only translate HTTP: the query is parsed by pricing.filters (shared with the API), reads
come from pricing.selectors (and providers.selectors for accounts), and "Refresh now" goes
through pricing.services.offer_refresh_request, as the API's does.
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from computehub import htmx
from pricing import selectors, services
from pricing.api.history import history_payload
from pricing.filters import SORT_CHOICES, OfferFilters, OfferSearchSerializer
from pricing.gpu_specs import GPU_SPECS
from providers.models import ProviderKind
from providers.selectors import credentials_for_workspace

PAGE_SIZE = 25
MAX_COMPARE = 4
# The page ignores parameters it does not know (utm_*, htmx's own): a shared link with extras
# should still open. The API, which scripts call, refuses them instead.
FILTER_FIELDS = tuple(name for name in OfferSearchSerializer().fields if name != "limit")
HISTORY_RANGES = ((1, "24h"), (7, "7d"), (30, "30d"))
ALREADY_REFRESHING = "A refresh is already under way. New offers appear in a minute or so."


@dataclass
class Search:
    """The parsed query: valid filters, the refused fields with their messages, the raw input."""

    filters: OfferFilters
    page: int = 1
    errors: dict[str, list[str]] = field(default_factory=dict)
    params: dict[str, list[str]] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The non-empty, known parameters minus the page: the URL the browser keeps and shares."""
        pairs = [(k, v) for k, values in self.params.items() if k != "page" for v in values if v]
        return urlencode(pairs)


def _parse(request) -> Search:
    """Filters from the query; a refused field is reported and left out, so the results below
    still answer the rest of the query instead of the page failing."""
    params = {name: request.GET.getlist(name) for name in FILTER_FIELDS if name in request.GET}
    serializer = OfferSearchSerializer(data=_querydict(params))
    if serializer.is_valid():
        return Search(serializer.to_filters(), serializer.validated_data.get("page", 1), {}, params)
    errors = {name: [str(message) for message in messages_] for name, messages_ in serializer.errors.items()}
    retry = OfferSearchSerializer(data=_querydict({k: v for k, v in params.items() if k not in errors}))
    filters = retry.to_filters() if retry.is_valid() else OfferFilters()
    return Search(filters, 1, errors, params)


def _querydict(params: dict[str, list[str]]) -> QueryDict:
    """DRF reads single values from a QueryDict (and lists only for the multi-value fields)."""
    query = QueryDict(mutable=True)
    for name, values in params.items():
        query.setlist(name, values)
    return query


def _results_context(request, search: Search) -> dict:
    workspace = request.workspace
    offers = selectors.offer_search(workspace=workspace, filters=search.filters).select_related("credential")
    page = Paginator(offers, PAGE_SIZE).get_page(search.page)
    page.object_list = _with_specs(page.object_list)
    best = selectors.best_value(workspace=workspace, filters=search.filters)
    _with_specs([pick.offer for pick in [*best.cheapest_per_model, best.best_tflop] if pick])
    return {
        "search": search,
        "page_obj": page,
        "best": best,
        "not_offered": [GPU_SPECS[m] for m in selectors.gpu_models_not_offered(workspace=workspace, gpu_models=search.filters.gpu)],
        "filter_fields": FILTER_FIELDS,
        "max_compare": MAX_COMPARE,
    }


def _page_context(request, search: Search) -> dict:
    workspace = request.workspace
    history_models = selectors.history_gpu_models(workspace=workspace)
    history_gpu = _history_default(search.filters, history_models)
    return {
        "accounts": credentials_for_workspace(workspace=workspace),
        "can_refresh": request.membership.allows(Role.DEVELOPER),
        "gpu_groups": _gpu_groups(),
        "providers": ProviderKind.choices,
        "sort_choices": SORT_CHOICES.items(),
        "selected_gpus": set(search.filters.gpu) or _split(search.params.get("gpu", [])),
        "selected_providers": set(search.filters.provider) or _split(search.params.get("provider", [])),
        "raw": {name: values[0] for name, values in search.params.items() if values},
        "history_gpus": [GPU_SPECS[m] for m in history_models if m in GPU_SPECS],
        "history_gpu": history_gpu,
        "history_ranges": HISTORY_RANGES,
        "history_initial": history_payload(workspace=workspace, gpu_model=history_gpu, days=7) if history_gpu else None,
    }


def _with_specs(offers) -> list:
    """Give each offer its GPU_SPECS row (or None) as `.spec`, for display names and specs."""
    offers = list(offers)
    for offer in offers:
        offer.spec = GPU_SPECS.get(offer.gpu_model)
    return offers


def _gpu_groups() -> list[tuple[str, list]]:
    vendors = sorted({spec.vendor for spec in GPU_SPECS.values()})
    return [(v, sorted((s for s in GPU_SPECS.values() if s.vendor == v), key=lambda s: s.name)) for v in vendors]


def _split(values: list[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def _history_default(filters: OfferFilters, history_models: list[str]) -> str:
    """Chart the first GPU the search names when it has history, else the first with any."""
    chosen = [m for m in filters.gpu if m in history_models]
    return (chosen or history_models or [""])[0]


@require_safe
@workspace_role_required
def index(request):
    search = _parse(request)
    status = 422 if search.errors else 200
    context = _results_context(request, search)
    if htmx.is_partial(request):
        response = htmx.render_fragment(request, "pricing/partials/results.html", {**context, "oob": True}, status=status)
        # The browser keeps the tidy query (no empty fields) so the address can be shared as is.
        response["HX-Push-Url"] = reverse("pricing:index") + (f"?{search.query}" if search.query else "")
        return response
    return render(request, "pricing/index.html", {**context, **_page_context(request, search)}, status=status)


def _compare_ids(raw: str) -> list[int] | None:
    """`1,2,3` → [1, 2, 3]; None when malformed, empty or more than MAX_COMPARE."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts or len(parts) > MAX_COMPARE or not all(part.isdigit() for part in parts):
        return None
    return list(dict.fromkeys(int(part) for part in parts))


@require_safe
@workspace_role_required
def compare(request):
    ids = _compare_ids(request.GET.get("ids", ""))
    if ids is None:
        return HttpResponseBadRequest(f"Choose between 1 and {MAX_COMPARE} offers to compare (ids=1,2,3).")
    offers = _with_specs(selectors.offers_in(workspace=request.workspace, offer_pks=ids))
    columns = [_compare_column(offer) for offer in offers]
    context = {"columns": columns}
    return htmx.render_page(request, "pricing/compare.html", context, partial="pricing/partials/compare.html")


def _compare_column(offer) -> dict:
    return {"offer": offer, "spec": offer.spec, "capabilities": selectors.provider_capabilities(offer.provider)}


@require_safe
@workspace_role_required
def offer_deploy(request, offer_id: int):
    """Deploy opens the launch form with this offer (404 for another workspace's offer)."""
    offer = selectors.offer_get(workspace=request.workspace, offer_pk=offer_id)
    return redirect(f"{reverse('deployments:new')}?offer={offer.pk}")


@require_POST
@workspace_role_required
def refresh(request):
    """Developers and Admins may ask every connected cloud for fresh offers now (Viewers get 403);
    a click while a refresh was queued moments ago queues nothing more."""
    if services.offer_refresh_request(workspace=request.workspace):
        messages.success(request, "Refreshing prices from every connected provider. New offers appear in a minute or so.")
    else:
        messages.info(request, ALREADY_REFRESHING)
    if htmx.is_partial(request):
        return htmx.render_fragment(request, None)
    return redirect("pricing:index")
