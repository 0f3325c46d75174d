"""`/ws/workspace/` through the real ASGI application (origin check, cookies, session, auth) and
the configured channel layer (the database layer's tailer, or Redis when REDIS_URL is set)."""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from accounts.models import Membership
from accounts.services import invitation_create, membership_remove, workspace_delete
from computehub import realtime
from computehub.asgi import application
from computehub.channel_layer import DatabaseChannelLayer
from computehub.tests.live_stack import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)  # the tailer's thread must see committed rows


@pytest.fixture(autouse=True)
async def _close_connections(transactional_db):
    """Close what this test opened, or PostgreSQL refuses to drop the test database at the end:
    the tailer's connection, and the one of asgiref's thread behind sync_to_async.
    (channels-redis cleans up by itself when the test's event loop closes.)"""
    yield
    layer = get_channel_layer()
    if isinstance(layer, DatabaseChannelLayer):
        await layer.close()
    await sync_to_async(connections.close_all)()


async def open_socket(cookie=None, query=""):
    """Connect and return (communicator, close code or None when the socket stays open)."""
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, f"/ws/workspace/{query}", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # refusals are accepted first, then closed with a code the browser can read
    if await communicator.receive_nothing(timeout=0.2):
        return communicator, None
    output = await communicator.receive_output()
    return communicator, output["code"]


async def test_anonymous_is_closed_with_4401():
    _, code = await open_socket()
    assert code == CLOSE_UNAUTHENTICATED


async def test_member_of_another_workspace_is_closed_with_4403(team, other_team):
    cookie = await sync_to_async(session_cookie)(other_team["admin"])
    _, code = await open_socket(cookie, query=f"?workspace={team['workspace'].slug}")
    assert code == CLOSE_FORBIDDEN


async def test_session_pointing_at_a_foreign_workspace_is_closed_with_4403(team, other_team):
    cookie = await sync_to_async(session_cookie)(other_team["admin"], workspace=team["workspace"])
    _, code = await open_socket(cookie)
    assert code == CLOSE_FORBIDDEN


async def test_member_receives_toasts_of_the_session_workspace_only(team, other_team):
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    communicator, code = await open_socket(cookie)
    assert code is None
    publish = sync_to_async(realtime.publish_workspace_toast)
    await publish(workspace_id=other_team["workspace"].id, message="Not for you.")
    await publish(workspace_id=team["workspace"].id, message="Deployed.", level="success")
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "toast",
        "level": "success",
        "message": "Deployed.",
    }
    await communicator.disconnect()


async def test_whatever_the_client_sends_is_ignored(team):
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    communicator, _ = await open_socket(cookie)
    await communicator.send_to(text_data="not json")
    await sync_to_async(realtime.publish_workspace_toast)(workspace_id=team["workspace"].id, message="Still here.")
    assert (await communicator.receive_json_from(timeout=5))["message"] == "Still here."
    await communicator.disconnect()


async def test_workspace_query_parameter_selects_the_workspace(team):
    cookie = await sync_to_async(session_cookie)(team["developer"])  # session on the personal one
    communicator, code = await open_socket(cookie, query=f"?workspace={team['workspace'].slug}")
    assert code is None
    await sync_to_async(realtime.publish_workspace_toast)(workspace_id=team["workspace"].id, message="Hi team.")
    assert (await communicator.receive_json_from(timeout=5))["message"] == "Hi team."
    await communicator.disconnect()


async def test_publish_called_from_inside_the_event_loop_is_scheduled(team):
    """Sync code called straight from async code: publish must not block (or break) the loop."""
    cookie = await sync_to_async(session_cookie)(team["admin"], workspace=team["workspace"])
    communicator, _ = await open_socket(cookie)
    realtime.publish_workspace_toast(workspace_id=team["workspace"].id, message="From the loop.")
    assert (await communicator.receive_json_from(timeout=5))["message"] == "From the loop."
    await communicator.disconnect()


async def test_invitation_sent_in_a_task_shows_a_toast(team):
    """The service's own publish (Q_CLUSTER sync in tests, so the task runs right here)."""
    cookie = await sync_to_async(session_cookie)(team["admin"], workspace=team["workspace"])
    communicator, _ = await open_socket(cookie)
    await sync_to_async(invitation_create)(
        workspace=team["workspace"], email="dana@example.com", role="developer", invited_by=team["admin"]
    )
    toast = await communicator.receive_json_from(timeout=5)
    assert toast == {"type": "toast", "level": "info", "message": "Invitation email sent to dana@example.com."}
    await communicator.disconnect()


async def test_removed_member_is_closed_with_4403_and_the_others_stay(team):
    """Membership is re-checked by event: removal closes that person's sockets at once."""
    removed_cookie = await sync_to_async(session_cookie)(team["developer"], workspace=team["workspace"])
    staying_cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    removed, _ = await open_socket(removed_cookie)
    staying, _ = await open_socket(staying_cookie)

    membership = await sync_to_async(Membership.objects.get)(workspace=team["workspace"], user=team["developer"])
    await sync_to_async(membership_remove)(membership=membership)

    closed = await removed.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    await sync_to_async(realtime.publish_workspace_toast)(workspace_id=team["workspace"].id, message="Still on.")
    assert (await staying.receive_json_from(timeout=5))["message"] == "Still on."
    assert await removed.receive_nothing(timeout=0.3)  # nothing more reaches the removed member
    await staying.disconnect()


async def test_deleting_a_workspace_closes_every_members_socket(team):
    cookies = [
        await sync_to_async(session_cookie)(team[who], workspace=team["workspace"]) for who in ("admin", "viewer")
    ]
    sockets = [(await open_socket(cookie))[0] for cookie in cookies]
    await sync_to_async(workspace_delete)(workspace=team["workspace"])
    for socket in sockets:
        assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
