"""WebSocket consumers for accounts: live toasts for the workspace a browser is acting in."""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import selectors
from accounts.middleware import SESSION_KEY
from accounts.models import Workspace
from computehub import realtime

# Close codes in the 4000 range reach the browser (codes sent before accept would become a bare
# HTTP 403), and tell static/js/toasts.js to stop reconnecting.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _workspace_for(*, user, slug: str | None, session) -> Workspace | None:
    """The workspace this connection may watch, or None when `user` is not a member of it.

    `?workspace=<slug>` if given, else the one chosen in the session's switcher; no choice yet (a
    session that has not loaded a page) means the personal workspace, as on pages. A choice that
    is not the user's is refused rather than replaced, so the browser learns it (4403).
    """
    chosen = session.get(SESSION_KEY) if session is not None else None
    if slug or chosen:
        return selectors.workspace_for_member(user=user, slug=slug, workspace_id=None if slug else chosen)
    return selectors.personal_workspace_for(user=user)


class WorkspaceConsumer(AsyncJsonWebsocketConsumer):
    """`/ws/workspace/`: toasts for one workspace. Membership is checked at connect; a later
    removal (or the workspace's deletion) arrives as a `membership.revoked` event and closes."""

    group = None
    user_id = None

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
        self.user_id = str(user.pk)
        self.group = realtime.workspace_group(workspace.id)
        await realtime.group_join(self.group, self.channel_name)
        return None

    async def disconnect(self, code):
        if self.group is not None:
            await realtime.group_leave(self.group, self.channel_name)

    async def membership_revoked(self, event):
        """Close this user's socket once they are no longer a member; events for others go by."""
        if event.get("user_id") != self.user_id:
            return
        # Leave first, so nothing published between now and the close still reaches them.
        await realtime.group_leave(self.group, self.channel_name)
        self.group = None
        await self.close(code=CLOSE_FORBIDDEN)

    async def toast(self, event):
        await self.send_json({"type": "toast", "level": event.get("level", "info"), "message": event["message"]})

    async def deployment_status(self, event):
        """A deployment's status changed (deployments.realtime): lists and headers update live."""
        await self.send_json({key: event.get(key) for key in ("type", "id", "status", "raw_status", "desired_state")})

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """The stream is one-way: whatever a client sends (JSON or not) is ignored."""
