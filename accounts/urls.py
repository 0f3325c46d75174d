"""Team, workspace, invitation and API token pages. Not namespaced: services.invitation_url
reverses "invitation_accept" by its bare name."""

from django.urls import path

from accounts import ssh_views, token_views, views

urlpatterns = [
    path("team/", views.team, name="team"),
    path("team/members/<int:user_id>/role/", views.member_role, name="team_member_role"),
    path("team/members/<int:user_id>/remove/", views.member_remove, name="team_member_remove"),
    path("team/leave/", views.team_leave, name="team_leave"),
    path("team/invitations/", views.invitation_create, name="team_invite"),
    path("team/invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="team_invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("workspaces/new/", views.workspace_create, name="workspace_create"),
    path("workspaces/switch/", views.workspace_switch, name="workspace_switch"),
    path("workspace/ssh-keys/", ssh_views.ssh_keys, name="ssh_keys"),
    path("workspace/ssh-keys/generate/", ssh_views.ssh_key_generate, name="ssh_key_generate"),
    path("workspace/ssh-keys/<int:key_id>/delete/", ssh_views.ssh_key_delete, name="ssh_key_delete"),
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.token_revoke, name="token_revoke"),
]
