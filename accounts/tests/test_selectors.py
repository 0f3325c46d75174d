"""Reads stay scoped to the caller: a workspace is found only for its members."""

import uuid

from accounts import selectors


def test_workspace_for_member_by_slug_or_id(team, other_team):
    workspace, viewer = team["workspace"], team["viewer"]
    assert selectors.workspace_for_member(user=viewer, slug=workspace.slug) == workspace
    assert selectors.workspace_for_member(user=viewer, workspace_id=str(workspace.pk)) == workspace


def test_workspace_for_member_hides_foreign_and_malformed(team, other_team):
    viewer = team["viewer"]
    assert selectors.workspace_for_member(user=viewer, slug=other_team["workspace"].slug) is None
    assert selectors.workspace_for_member(user=viewer, workspace_id=str(other_team["workspace"].pk)) is None
    assert selectors.workspace_for_member(user=viewer, workspace_id="not-a-uuid") is None
    assert selectors.workspace_for_member(user=viewer, workspace_id=str(uuid.uuid4())) is None
    assert selectors.workspace_for_member(user=viewer) is None


def test_consumers_read_workspaces_through_selectors():
    """Every read is scoped in accounts.selectors; the consumer must not query models itself."""
    import inspect

    from accounts import consumers

    assert "Workspace.objects" not in inspect.getsource(consumers)
