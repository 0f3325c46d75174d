"""`/ws/deployments/<id>/` through the real ASGI application and the configured channel layer:
auth, resume without gaps or duplicates, live lines, status, revocation."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from accounts.models import Membership
from accounts.services import membership_remove
from computehub.asgi import application
from computehub.channel_layer import DatabaseChannelLayer
from computehub.tests.live_stack import session_cookie
from deployments import realtime
from deployments.consumers import BACKLOG_BATCH
from deployments.logs import log_append
from deployments.tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the tailer's thread must see committed rows


@pytest.fixture(autouse=True)
async def _close_connections(transactional_db):
    yield
    layer = get_channel_layer()
    if isinstance(layer, DatabaseChannelLayer):
        await layer.close()
    await sync_to_async(connections.close_all)()


@pytest.fixture
async def deployment(team):
    return await sync_to_async(DeploymentFactory)(workspace=team["workspace"])


async def open_socket(deployment, cookie=None, query=""):
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, f"/ws/deployments/{deployment.pk}/{query}", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def append(deployment, lines):
    await sync_to_async(log_append)(deployment=deployment, lines=lines)


async def collect_lines(socket, until_seq, timeout=5.0) -> list[int]:
    """Seqs of the lines received until `until_seq`, checking each message's shape."""
    seqs = []
    while not seqs or seqs[-1] < until_seq:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == "logs":
            seqs += [message["first_seq"] + n for n in range(len(message["lines"]))]
            assert message["lines"] == [f"line {seq}" for seq in seqs[-len(message['lines']):]]
    return seqs


def numbered(first, last):
    return [f"line {n}" for n in range(first, last + 1)]


async def test_anonymous_is_closed_with_4401(deployment):
    socket = await open_socket(deployment)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def test_member_of_another_workspace_is_closed_with_4403(deployment, other_team):
    cookie = await sync_to_async(session_cookie)(other_team["admin"])
    socket = await open_socket(deployment, cookie)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}


async def test_connect_sends_status_then_live_lines(team, deployment):
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    socket = await open_socket(deployment, cookie)
    status = await socket.receive_json_from(timeout=5)
    assert status == {"type": "status", "id": str(deployment.pk), "status": "running", "raw_status": "",
                      "desired_state": "running"}
    await append(deployment, numbered(1, 3))
    assert await collect_lines(socket, 3) == [1, 2, 3]
    await socket.disconnect()


async def test_resume_gets_exactly_the_missed_lines_then_live_ones(team, deployment):
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    first = await open_socket(deployment, cookie)
    await first.receive_json_from(timeout=5)  # status
    await append(deployment, numbered(1, 5))
    assert await collect_lines(first, 5) == [1, 2, 3, 4, 5]
    await first.disconnect()

    await append(deployment, numbered(6, 40))  # published while nobody watches
    second = await open_socket(deployment, cookie)
    await second.receive_json_from(timeout=5)  # status
    await second.send_json_to({"type": "resume", "after": 5})
    await append(deployment, numbered(41, 45))  # live, possibly while the backlog is sent
    while (await second.receive_json_from(timeout=5))["type"] != "resumed":
        pass  # live lines that went out before the server read the resume
    assert await collect_lines(second, 45) == list(range(6, 46))
    # No duplicates afterwards: a sentinel line comes next, with nothing before it. (Waiting for
    # silence would pass on a slow machine whose duplicate had not arrived yet.)
    await append(deployment, numbered(46, 46))
    assert await collect_lines(second, 46) == [46]
    await second.disconnect()


async def test_after_in_query_string_and_a_backlog_bigger_than_one_batch(team, deployment):
    total = BACKLOG_BATCH * 2 + 7
    await append(deployment, numbered(1, total))
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    socket = await open_socket(deployment, cookie, query="?after=3")
    await append(deployment, numbered(total + 1, total + 20))  # while the backlog goes out
    assert await collect_lines(socket, total + 20) == list(range(4, total + 21))
    while not await socket.receive_nothing(timeout=0.3):  # the status (sent after the backlog) at most
        assert (await socket.receive_json_from())["type"] == "status"
    await socket.disconnect()


async def test_a_live_message_that_skips_ahead_is_filled_from_the_database(team, deployment):
    """A lost or overtaken message must not become a gap on the screen."""
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    socket = await open_socket(deployment, cookie)
    await socket.receive_json_from(timeout=5)
    publish = realtime.publish_log_lines
    realtime.publish_log_lines = lambda *args: None  # lines 1-3 are stored but their message is lost
    try:
        await append(deployment, numbered(1, 3))
    finally:
        realtime.publish_log_lines = publish
    await append(deployment, numbered(4, 4))
    assert await collect_lines(socket, 4) == [1, 2, 3, 4]
    await socket.disconnect()


async def test_status_and_metrics_reach_the_viewer_once(team, deployment):
    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    socket = await open_socket(deployment, cookie)
    await socket.receive_json_from(timeout=5)
    deployment.status = "stopped"
    await sync_to_async(realtime.publish_status)(deployment)  # sent to the deployment and workspace groups
    message = await socket.receive_json_from(timeout=5)
    assert message["type"] == "status" and message["status"] == "stopped"
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_removed_member_is_closed_with_4403(team, deployment):
    cookie = await sync_to_async(session_cookie)(team["developer"], workspace=team["workspace"])
    socket = await open_socket(deployment, cookie)
    await socket.receive_json_from(timeout=5)
    membership = await sync_to_async(Membership.objects.get)(workspace=team["workspace"], user=team["developer"])
    await sync_to_async(membership_remove)(membership=membership)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": CLOSE_FORBIDDEN}
    await append(deployment, ["after removal"])
    await asyncio.sleep(0.2)
    assert await socket.receive_nothing(timeout=0.3)


async def test_a_new_timeline_entry_tells_viewers_to_refresh_the_timeline(team, deployment):
    from deployments.models import EventKind
    from deployments.services import event_record

    cookie = await sync_to_async(session_cookie)(team["viewer"], workspace=team["workspace"])
    socket = await open_socket(deployment, cookie)
    await socket.receive_json_from(timeout=5)  # status
    await sync_to_async(event_record)(deployment=deployment, kind=EventKind.ACTION, message="Stop requested")
    assert await socket.receive_json_from(timeout=5) == {"type": "event", "id": str(deployment.pk)}
    await socket.disconnect()
