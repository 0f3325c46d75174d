"""Pages that belong to no single app: the dashboard, health, error pages."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from accounts.decorators import workspace_role_required
from computehub.api.errors import error_body
from deployments.selectors import deployments_summary
from pricing.selectors import offers_summary


@workspace_role_required
def dashboard(request):
    deployments = deployments_summary(workspace=request.workspace)
    stats = offers_summary(workspace=request.workspace) | {
        "deployments_total": deployments["total"],
        "deployments_running": deployments["running"],
        "deployments_spend": deployments["spend"],
    }
    return render(request, "dashboard.html", {"stats": stats})


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return render(request, "404.html", status=404)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", "You do not have permission to do this."), status=403)
    # The decorator's message names the role needed; Django's own 403s carry none.
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def server_error(request):
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return render(request, "500.html", status=500)
