"""End to end across processes: a task in a real qcluster worker publishes a toast, a real daphne
process delivers it to a WebSocket client. Without REDIS_URL this goes through the database
layer's outbox; with it, through channels-redis (and the Redis broker)."""

import json

import pytest
from django_q.models import Success
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from accounts.services import invitation_create
from computehub.tests.live_stack import session_cookie

pytestmark = pytest.mark.processes

TOAST_TIMEOUT_S = 15


def open_socket(live_stack, cookie: str, origin: str | None = None):
    return connect(
        f"{live_stack.ws_url}/ws/workspace/",
        origin=origin or live_stack.http_url,
        additional_headers={"Cookie": cookie},
        open_timeout=10,
    )


def receive_json(live_stack, socket) -> dict:
    try:
        raw = socket.recv(timeout=TOAST_TIMEOUT_S)
    except TimeoutError:
        raw = None
    if raw is None:
        pytest.fail(f"No message within {TOAST_TIMEOUT_S}s\n{live_stack.output()}", pytrace=False)
    return json.loads(raw)


def test_invitation_toast_travels_from_qcluster_to_the_browser_socket(live_stack, team):
    cookie = session_cookie(team["admin"], workspace=team["workspace"])
    with open_socket(live_stack, cookie) as socket:
        # The real path: the service enqueues the email task on commit; the cluster runs it.
        invitation_create(
            workspace=team["workspace"], email="dana@example.com", role="developer", invited_by=team["admin"]
        )
        toast = receive_json(live_stack, socket)
    assert toast == {"type": "toast", "level": "info", "message": "Invitation email sent to dana@example.com."}
    live_stack.wait_for(
        lambda: Success.objects.filter(func="accounts.tasks.invitation_send").exists(),
        "successful invitation_send task recorded by qcluster",
        timeout=10,
    )


def test_daphne_refuses_sockets_from_a_foreign_origin(live_stack, team):
    cookie = session_cookie(team["admin"], workspace=team["workspace"])
    with pytest.raises(InvalidStatus) as refused:
        open_socket(live_stack, cookie, origin="http://evil.example")
    assert refused.value.response.status_code == 403
