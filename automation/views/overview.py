"""The Automation page: rules, built-in policies, the rule builder."""

from django.shortcuts import render
from django.urls import path

from accounts.decorators import workspace_role_required


@workspace_role_required
def index(request):
    return render(request, "automation/index.html")


urlpatterns = [
    path("", index, name="index"),
]
