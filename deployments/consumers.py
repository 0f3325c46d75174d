"""`/ws/deployments/<id>/`: one deployment's status, log lines and metrics, live.

Nothing is lost across reconnects: the client says which log line it saw last (`?after=<seq>` at
connect, or a `{"type": "resume", "after": <seq>}` message, answered by `{"type": "resumed"}`
before the lines) and first gets exactly the lines after it from the database, then live ones.
Without either it gets live lines from now on (`?tail=N`: the last N lines first). The consumer joins the group before reading the database, so a line
published meanwhile is queued, not missed; Channels hands this consumer one message at a time,
so that queue is the buffer while the backlog is sent, and lines at or below the last seq sent
are dropped as duplicates. A live message that skips ahead (one was dropped or overtaken) makes
the consumer read the gap from the database: appends commit in sequence order (deployments.logs),
so by then every line below it is stored.
"""

from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHENTICATED
from computehub import realtime
from deployments import realtime as deployment_realtime
from deployments import selectors
from deployments.logs import last_log_seq, log_lines_after

BACKLOG_BATCH = 500  # lines per message while catching up
MAX_TAIL = 1000  # `?tail=N`: a fresh viewer's last N lines


_deployment_for = database_sync_to_async(selectors.deployment_for_member)


@database_sync_to_async
def _lines_after(deployment, after: int) -> list[tuple[int, str]]:
    return log_lines_after(deployment=deployment, after_seq=after, limit=BACKLOG_BATCH)


def _int_or_none(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


class DeploymentConsumer(AsyncJsonWebsocketConsumer):
    deployment = None
    groups_joined: tuple = ()
    user_id = None
    sent = 0  # the highest log seq this socket has delivered (or was told the client has)
    last_status = None

    async def connect(self):
        refusal = await self._join()
        await self.accept()  # before closing, so the browser reads the 44xx code (see accounts)
        if refusal is not None:
            await self.close(code=refusal)
            return
        await self._start_from(self._query_start())
        # After the backlog: a client that has the status knows the socket is fully set up.
        await self._send_status(self._status_of(self.deployment))

    async def _join(self) -> int | None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return CLOSE_UNAUTHENTICATED
        deployment = await _deployment_for(user=user, deployment_id=self.scope["url_route"]["kwargs"]["deployment_id"])
        if deployment is None:
            return CLOSE_FORBIDDEN  # missing and foreign look alike
        self.deployment, self.user_id = deployment, str(user.pk)
        # The workspace group carries membership revocations (and status, deduplicated below).
        self.groups_joined = (deployment_realtime.deployment_group(deployment.pk),
                              realtime.workspace_group(deployment.workspace_id))
        for group in self.groups_joined:
            await realtime.group_join(group, self.channel_name)
        return None

    def _query_start(self) -> tuple[str, int | None]:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        after = _int_or_none(query.get("after", [None])[0])
        if after is not None:
            return "after", after
        return "tail", min(_int_or_none(query.get("tail", [None])[0]) or 0, MAX_TAIL)

    async def _start_from(self, start: tuple[str, int | None]) -> None:
        kind, number = start
        if kind == "after":
            self.sent = number
        else:  # live from now on, with the last `number` lines first
            self.sent = max(0, await database_sync_to_async(last_log_seq)(self.deployment.pk) - number)
        await self._catch_up()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await realtime.group_leave(group, self.channel_name)
        self.groups_joined = ()

    # --- from the client ---

    async def receive_json(self, content, **kwargs):
        """Only `resume` means something; anything else is ignored (the stream is one-way)."""
        if isinstance(content, dict) and content.get("type") == "resume":
            after = _int_or_none(content.get("after"))
            if after is not None:
                # The stream restarts at after + 1. Lines already in flight before this message
                # arrived come before the marker; clients drop log messages until they see it.
                await self.send_json({"type": "resumed", "after": after})
                self.sent = after
                await self._catch_up()

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data, **kwargs)
        except ValueError:  # not JSON: ignored like any other unknown message
            pass

    # --- log lines ---

    async def _catch_up(self) -> None:
        """Send every stored line after self.sent, in batches, in order."""
        while True:
            rows = await _lines_after(self.deployment, self.sent)
            if rows:
                await self._send_lines(rows[0][0], [text for _, text in rows])
            if len(rows) < BACKLOG_BATCH:
                return

    async def _send_lines(self, first_seq: int, lines: list[str]) -> None:
        await self.send_json({"type": "logs", "first_seq": first_seq, "lines": lines})
        self.sent = first_seq + len(lines) - 1

    async def deployment_logs(self, event):
        first_seq, lines = event["first_seq"], event["lines"]
        if first_seq > self.sent + 1:  # lines between are missing here: read them from the database
            await self._catch_up()
            return
        skip = self.sent + 1 - first_seq  # the part already delivered
        if skip < len(lines):
            await self._send_lines(first_seq + skip, lines[skip:])

    # --- status, metrics, membership ---

    @staticmethod
    def _status_of(source) -> dict:
        get = source.get if isinstance(source, dict) else lambda name: getattr(source, name)
        return {"type": "status", "id": str(get("id")), "status": get("status"),
                "raw_status": get("raw_status"), "desired_state": get("desired_state")}

    async def _send_status(self, status: dict) -> None:
        if status != self.last_status:  # it arrives through both groups; say it once
            self.last_status = status
            await self.send_json(status)

    async def deployment_status(self, event):
        if event.get("id") == str(self.deployment.pk):
            await self._send_status(self._status_of(event))

    async def deployment_event(self, event):
        await self.send_json({"type": "event", "id": event["id"]})

    async def deployment_metric(self, event):
        await self.send_json({"type": "metric", "seq": event["seq"], "at": event["at"], "values": event["values"]})

    async def membership_revoked(self, event):
        if event.get("user_id") != self.user_id:
            return
        await self.disconnect(CLOSE_FORBIDDEN)  # leave first: nothing more reaches them
        await self.close(code=CLOSE_FORBIDDEN)

    async def dispatch(self, message):
        """The workspace group carries other kinds too (toasts, later ones): skip what has no handler."""
        if getattr(self, get_handler_name(message), None) is not None:
            await super().dispatch(message)
