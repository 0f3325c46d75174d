"""Accounts routes under /api/v1/ (identity, teams, roles, tokens)."""

from django.urls import path

from accounts.api import ssh_views, views

members = "workspaces/<slug:slug>/members/"
invitations = "workspaces/<slug:slug>/invitations/"
ssh_keys = "workspaces/<slug:slug>/ssh-keys/"

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("workspaces/", views.WorkspaceListApi.as_view(), name="api-workspace-list"),
    path("workspaces/<slug:slug>/", views.WorkspaceDetailApi.as_view(), name="api-workspace-detail"),
    path(members, views.MemberListApi.as_view(), name="api-member-list"),
    path(members + "<int:user_id>/", views.MemberDetailApi.as_view(), name="api-member-detail"),
    path(invitations, views.InvitationListApi.as_view(), name="api-invitation-list"),
    path(invitations + "<uuid:invitation_id>/", views.InvitationDetailApi.as_view(), name="api-invitation-detail"),
    path("workspaces/<slug:slug>/ssh-key/", ssh_views.WorkspaceKeyApi.as_view(), name="api-workspace-ssh-key"),
    path(ssh_keys, ssh_views.MemberKeyListApi.as_view(), name="api-ssh-key-list"),
    path(ssh_keys + "<int:key_id>/", ssh_views.MemberKeyDetailApi.as_view(), name="api-ssh-key-detail"),
    path("tokens/", views.TokenListApi.as_view(), name="api-token-list"),
    path("tokens/<int:token_id>/", views.TokenDetailApi.as_view(), name="api-token-detail"),
]
