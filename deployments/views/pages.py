"""The deployments list, one row (re-rendered on live status changes), the detail page, the four
actions, the log download and the chart data. Reads come from the selectors, writes from
deployments.services; these views only translate HTTP."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from computehub import htmx
from computehub.errors import ApplicationError
from deployments import files, logs, metrics, selectors, services
from deployments.api import readouts
from deployments.models import DesiredState, Status
from deployments.views.display import decorate
from providers.adapters import adapter_class

INITIAL_LOG_LINES = 1000  # the page starts with these; the socket sends the rest live
DOWNLOAD_BATCH = 10_000
WINDOWS = ("1h", "24h")


def _can_act(request) -> bool:
    return request.membership.allows(Role.DEVELOPER)


PAGE_SIZE = 50


@require_safe
@workspace_role_required
def index(request):
    show_all = request.GET.get("show") == "all"
    listed = selectors.deployments_listed(workspace=request.workspace, include_gone=show_all)
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = selectors.deployments_summary(workspace=request.workspace)
    context = {"deployments": [decorate(d, selectors.deployment_actions(d)) for d in page], "page_obj": page,
               "deleted_count": summary["gone"], "show_all": show_all, "can_act": _can_act(request),
               "total_spend": summary["spend"], "running_count": summary["running"]}
    return render(request, "deployments/index.html", context)


def _get(request, deployment_id):
    return decorate(d := selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id),
                    selectors.deployment_actions(d))


@require_safe
@workspace_role_required
def row(request, deployment_id):
    """One list row, the detail page's header (`?part=head`) or its timeline (`?part=timeline`):
    what a live change swaps in."""
    return _fragment(request, _get(request, deployment_id), request.GET.get("part"))


FRAGMENTS = {
    "head": "deployments/partials/head.html",
    "timeline": "deployments/partials/timeline.html",
    "connect": "deployments/partials/connect.html",
}


def _fragment(request, deployment, part):
    template = FRAGMENTS.get(part, "deployments/partials/row.html")
    context = {"d": deployment, "can_act": _can_act(request)}
    if part == "timeline":
        context["events"] = selectors.deployment_events(deployment=deployment)
    if part == "connect":
        context |= _connect_context(deployment)
    return htmx.render_fragment(request, template, context)


def _connect_context(deployment) -> dict:
    """SSH, endpoints and files: what changes when the deployment comes up or goes down."""
    capabilities = adapter_class(deployment.provider).capabilities
    return {"ssh_command": readouts.ssh_command(deployment),
            "ssh_reason": None if deployment.ssh_host else capabilities.reason("ssh_info"),
            "endpoints": _live_endpoints(deployment), "files_unavailable": files.unavailable_reason(deployment)}


@require_safe
@workspace_role_required
def detail(request, deployment_id):
    deployment = _get(request, deployment_id)
    first = max(0, deployment.log_seq - INITIAL_LOG_LINES)
    context = {
        "d": deployment, "can_act": _can_act(request), "events": selectors.deployment_events(deployment=deployment),
        "log_lines": logs.log_lines_after(deployment=deployment, after_seq=first, limit=INITIAL_LOG_LINES),
        "metrics_initial": _metrics_payload(deployment, "1h"),
    } | _connect_context(deployment)
    return render(request, "deployments/detail.html", context)


def _live_endpoints(deployment) -> list[dict]:
    # Links only while it runs: a stopped instance's old addresses lead nowhere (the page says so).
    return readouts.endpoints(deployment) if deployment.status == Status.RUNNING else []


@require_POST
@workspace_role_required
def action(request, deployment_id, action: str):
    deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    if action not in selectors.ACTIONS:
        raise Http404("No such action.")
    try:
        deployment = services.deployment_action(deployment=deployment, action=action, user=request.user)
        messages.success(request, f"{action.capitalize()} requested for {deployment.name}.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    if not htmx.is_partial(request):
        return htmx.redirect(request, reverse("deployments:detail", args=[deployment.pk]))
    # The fresh row (or the detail header: `part` comes with the POST) replaces the old one.
    return _fragment(request, _get(request, deployment.pk), request.POST.get("part"))


@require_safe
@workspace_role_required
def logs_txt(request, deployment_id):
    """Every stored line as plain text, streamed in batches so a long log never sits in memory."""
    deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    response = StreamingHttpResponse(_log_text(deployment), content_type="text/plain; charset=utf-8")
    # Django's helper escapes quotes and encodes what a header cannot carry (a newline in a
    # name from before names were checked would otherwise raise BadHeaderError: a 500).
    response["Content-Disposition"] = content_disposition_header(True, f"{deployment.name}-logs.txt")
    return response


def _log_text(deployment):
    after = 0
    while batch := logs.log_lines_after(deployment=deployment, after_seq=after, limit=DOWNLOAD_BATCH):
        yield "".join(f"{text}\n" for _, text in batch)
        after = batch[-1][0]


@require_safe
@workspace_role_required
def metrics_json(request, deployment_id):
    deployment = selectors.deployment_get(workspace=request.workspace, deployment_id=deployment_id)
    window = request.GET.get("window", "1h")
    if window not in WINDOWS:
        return JsonResponse({"error": {"code": "invalid", "message": "window is 1h or 24h."}}, status=400)
    return JsonResponse(_metrics_payload(deployment, window))


def _metrics_payload(deployment, window: str) -> dict:
    points = metrics.metric_window(deployment=deployment, window=window)
    return {"window": window, "now": timezone.now().isoformat(),
            "points": [{"t": p["at"].isoformat(), "values": p["values"]} for p in points]}
