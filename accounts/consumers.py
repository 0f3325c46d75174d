"""WebSocket consumers for accounts: live toasts for the workspace a browser is acting in."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError

from accounts import selectors
from accounts.middleware import SESSION_KEY
from accounts.models import Workspace
from computehub import realtime

# Close codes in the 4000 range reach the browser (codes sent before accept would become a bare
# HTTP 403), and tell static/js/toasts.js to stop reconnecting.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def _requested_workspace(*, slug: str | None, session) -> Workspace | None:
    """`?workspace=<slug>` if given, else the one chosen in the session's switcher."""
    if slug:
        return Workspace.objects.filter(slug=slug).first()
    chosen = session.get(SESSION_KEY) if session is not None else None
    if not chosen:
        return None
    try:
        return Workspace.objects.filter(pk=chosen).first()
    except ValidationError:  # a session value that is not a UUID
        return None


@database_sync_to_async
def _workspace_for(*, user, slug: str | None, session) -> Workspace | None:
    """The workspace this connection may watch, or None when `user` is not a member of it.

    No choice yet (a session that has not loaded a page) means the personal workspace, as on pages.
    """
    workspace = _requested_workspace(slug=slug, session=session)
    if workspace is None and not slug:
        workspace = selectors.personal_workspace_for(user=user)
    if selectors.membership_get(user=user, workspace=workspace) is None:
        return None
    return workspace


class WorkspaceConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/workspace/`: toasts for one workspace. Membership is checked once, at connect."""

    group = None

    async def connect(self):
        refusal = await self._join_workspace()
        # Accept even a refusal, then close with a code: a close sent before accept reaches the
        # browser as a bare HTTP 403. Joining before accept means that once a client's handshake
        # completes, it receives everything published from then on.
        await self.accept()
        if refusal is not None:
            await self.close(code=refusal)

    async def _join_workspace(self) -> int | None:
        """Join the workspace's group; on refusal return the close code instead."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        slug = parse_qs(self.scope.get("query_string", b"").decode()).get("workspace", [None])[0]
        workspace = await _workspace_for(user=user, slug=slug, session=self.scope.get("session"))
        if workspace is None:
            return CLOSE_FORBIDDEN
        self.group = realtime.workspace_group(workspace.id)
        await realtime.group_join(self.group, self.channel_name)
        return None

    async def disconnect(self, code):
        if self.group is not None:
            await realtime.group_leave(self.group, self.channel_name)

    async def toast(self, event):
        await self.send_json({"type": "toast", "level": event.get("level", "info"), "message": event["message"]})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """The stream is one-way: whatever a client sends (JSON or not) is ignored."""
