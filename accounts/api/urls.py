"""Accounts routes under /api/v1/ (identity, teams, roles, tokens)."""

from django.urls import path

from accounts.api import views

members = "workspaces/<slug:slug>/members/"
invitations = "workspaces/<slug:slug>/invitations/"

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("workspaces/", views.WorkspaceListApi.as_view(), name="api-workspace-list"),
    path("workspaces/<slug:slug>/", views.WorkspaceDetailApi.as_view(), name="api-workspace-detail"),
    path(members, views.MemberListApi.as_view(), name="api-member-list"),
    path(members + "<int:user_id>/", views.MemberDetailApi.as_view(), name="api-member-detail"),
    path(invitations, views.InvitationListApi.as_view(), name="api-invitation-list"),
    path(invitations + "<uuid:invitation_id>/", views.InvitationDetailApi.as_view(), name="api-invitation-detail"),
    path("tokens/", views.TokenListApi.as_view(), name="api-token-list"),
    path("tokens/<int:token_id>/", views.TokenDetailApi.as_view(), name="api-token-detail"),
]
