"""Pages that belong to no single app: the dashboard, health, error pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from computehub.api.errors import error_body


@login_required
def dashboard(request):
    return render(request, "dashboard.html", {})


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)
    return render(request, "500.html", status=500)
