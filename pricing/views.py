"""Pages of the price comparison."""

from django.shortcuts import render

from accounts.decorators import workspace_role_required


@workspace_role_required
def index(request):
    return render(request, "pricing/index.html")
