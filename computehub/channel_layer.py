"""A Channels layer for one machine without Redis: group messages travel through a database table.

`group_send` inserts a `ChannelMessage` row, so any process that can reach the database can
publish (daphne, qcluster workers, management commands). A process with consumers (daphne) runs
one tailer task that polls the table for new ids every ~50 ms and hands each row to its local
group members through the in-memory layer it inherits. With REDIS_URL set, settings choose
channels-redis instead and this module is not used.

Limits, on purpose: `send()` to a single channel stays in-process (cross-process traffic goes
through groups), and a publish inside `transaction.atomic` leaves only when that transaction
commits (the row is written on the caller's connection; publish from `on_commit`).
"""

import asyncio
import contextlib
import contextvars
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from computehub.models import ChannelMessage

logger = logging.getLogger(__name__)

READY_TIMEOUT_S = 5  # how long a first group_add waits for the tailer to learn where to start
EXPIRY_SWEEP_S = 1.0  # how often expired in-memory messages and group memberships are swept
MAX_BACKOFF_S = 5  # slowest retry while the database is unreachable
GAP_WAIT_S = 5  # how long an id skipped over is still asked for (see _Cursor)
MAX_GAPS = 1000  # beyond this many skipped ids at once, stop tracking them (a restart, not a race)


# --- The outbox table (plain sync functions, run in threads) -----------------------------------


def outbox_insert(group: str, message: dict) -> None:
    ChannelMessage.objects.create(group=group, payload=message)


def outbox_max_id() -> int:
    return ChannelMessage.objects.order_by("-id").values_list("id", flat=True).first() or 0


def outbox_fetch(after: int, missing: list[int], limit: int) -> list[tuple[int, str, dict]]:
    """Rows past `after`, plus any of the `missing` ids that have committed since; both use the pk index."""
    wanted = Q(id__gt=after) | Q(id__in=missing) if missing else Q(id__gt=after)
    rows = ChannelMessage.objects.filter(wanted).order_by("id").values_list("id", "group", "payload")
    return list(rows[:limit])


def outbox_prune(older_than: timedelta) -> int:
    deleted, _ = ChannelMessage.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def close_connection() -> None:
    """Drop this thread's connection so the next query opens a fresh one (after a DB restart, say)."""
    try:
        connection.close()
    except Exception:  # a broken connection may fail to close too; it is discarded either way
        logger.debug("Closing the outbox connection failed", exc_info=True)


class _Cursor:
    """Which outbox ids this process has delivered.

    PostgreSQL assigns an id at INSERT but the row becomes visible at COMMIT, so two concurrent
    senders can commit out of order: id 11 is seen before id 10. Ids skipped over are asked for
    again for GAP_WAIT_S, after which they are taken as rolled back. (SQLite serialises writers,
    so there ids commit in order and no gaps appear.)
    """

    def __init__(self, after: int):
        self.after = after
        self.gaps: dict[int, float] = {}

    def missing(self) -> list[int]:
        now = time.monotonic()
        self.gaps = {gap: deadline for gap, deadline in self.gaps.items() if deadline > now}
        return list(self.gaps)

    def mark(self, message_id: int) -> None:
        if message_id <= self.after:
            self.gaps.pop(message_id, None)
            return
        if message_id - self.after <= MAX_GAPS:
            deadline = time.monotonic() + GAP_WAIT_S
            self.gaps.update(dict.fromkeys(range(self.after + 1, message_id), deadline))
        self.after = message_id


# --- The layer ---------------------------------------------------------------------------------


class DatabaseChannelLayer(InMemoryChannelLayer):
    """In-memory delivery to this process's consumers, fed by a tailer reading the outbox table."""

    def __init__(self, poll_interval=0.05, retention=300, prune_interval=60, batch_size=500, **kwargs):
        super().__init__(**kwargs)
        self.poll_interval = poll_interval
        self.retention = timedelta(seconds=retention)
        self.prune_interval = prune_interval
        self.batch_size = batch_size
        self._tailer: asyncio.Task | None = None
        self._ready: asyncio.Event | None = None
        self._pruned_at = float("-inf")
        self._swept_at = float("-inf")
        # One dedicated thread keeps one connection for the tailer, off the thread that runs
        # Django's sync views, so a 50 ms poll never queues behind (or in front of) a request.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="channel-outbox")

    def _clean_expired(self):
        """Channels' in-memory layer sweeps every channel and group membership on EVERY send and
        receive: with 200 viewers of a busy log that is millions of steps a second and the
        viewers fall seconds behind. Expiry is measured in seconds, so sweeping once a second
        keeps the same behaviour at a constant cost."""
        now = time.monotonic()
        if now - self._swept_at >= EXPIRY_SWEEP_S:
            self._swept_at = now
            super()._clean_expired()

    async def group_send(self, group, message):
        """Write the message to the outbox; every process's tailer (ours too) delivers it."""
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_group_name(group)
        # Thread-sensitive, so a sync caller (via async_to_sync) writes on its own connection:
        # another one would wait forever for the SQLite write lock that the caller may hold.
        await sync_to_async(self._write)(group, message)

    def _write(self, group: str, message: dict) -> None:
        outbox_insert(group, message)
        # Senders prune too: workers may publish for hours while no web process tails. Not
        # inside the caller's transaction, where the deleted rows would stay locked until it ends.
        if not connection.in_atomic_block and self._prune_due():
            outbox_prune(self.retention)

    async def group_add(self, group, channel):
        await super().group_add(group, channel)
        await self._ensure_tailer()

    async def close(self):
        """Stop this loop's tailer (tests, shutdown); the next group_add starts a new one."""
        if self._tailer_alive():
            self._tailer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tailer
            await self._in_thread(close_connection)  # queued after the tailer's own: now it is shut

    # --- tailer ---

    async def _ensure_tailer(self) -> None:
        """Start the tailer on first use (or again if its event loop went away, as between tests)."""
        if not self._tailer_alive():
            self._ready = asyncio.Event()
            # A fresh context: the tailer outlives the consumer whose group_add started it.
            self._tailer = asyncio.create_task(self._tail(self._ready), context=contextvars.Context())
        # Wait until the tailer knows its starting id, or a message sent right after this
        # group_add could fall before it and be skipped.
        try:
            await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_S)
        except TimeoutError:
            logger.warning("Channel outbox tailer is not ready yet (database unreachable?)")

    def _tailer_alive(self) -> bool:
        task = self._tailer
        return task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()

    async def _tail(self, ready: asyncio.Event) -> None:
        try:
            cursor = _Cursor(await self._start_id())
            ready.set()
            failures = 0
            while True:
                failures = 0 if await self._poll_once(cursor) else failures + 1
                await asyncio.sleep(self._backoff(failures))
        finally:
            # Not awaited, so it also runs when the task is cancelled. The connection belongs to
            # the tailer's thread, so it is closed there (an open one would block DROP DATABASE).
            with contextlib.suppress(RuntimeError):  # the executor is gone at interpreter exit
                self._executor.submit(close_connection)

    async def _start_id(self) -> int:
        """The current last id: a new tailer delivers only what is sent from now on (no replay)."""
        failures = 0
        while True:
            try:
                return await self._in_thread(outbox_max_id)
            except Exception:
                failures += 1
                await self._recover()
                await asyncio.sleep(self._backoff(failures))

    async def _poll_once(self, cursor: _Cursor) -> bool:
        """Fetch and deliver new rows, prune now and then. False when the database failed."""
        try:
            rows = await self._in_thread(outbox_fetch, cursor.after, cursor.missing(), self.batch_size)
            for message_id, group, payload in rows:
                cursor.mark(message_id)
                await self._deliver(group, payload)
            await self._prune_if_due()
        except Exception:
            await self._recover()
            return False
        return True

    async def _recover(self) -> None:
        """Log, and reconnect on the next query. Callers back off, so an outage logs a few lines."""
        logger.warning("Channel outbox unreachable, retrying", exc_info=True)
        await self._in_thread(close_connection)

    def _backoff(self, failures: int) -> float:
        return min(self.poll_interval * 2**failures, MAX_BACKOFF_S)

    async def _deliver(self, group: str, payload) -> None:
        members = list(self.groups.get(group, {}))
        if not members:  # nobody here listens; most rows are for other processes
            return
        if not isinstance(payload, dict):  # one malformed row must not stop the stream for everyone else
            logger.error("Dropped a channel message to group %s that is not a JSON object", group)
            return
        # Straight into each member's queue: the in-memory group_send spawns a task and deep-copies
        # the message per member, which is what made 200 viewers of a busy log fall behind. The row
        # was just decoded from JSON, so a shallow copy per member is all the isolation needed.
        expires = time.time() + self.expiry
        for channel in members:
            self._enqueue(channel, expires, dict(payload))

    def _enqueue(self, channel: str, expires: float, message: dict) -> None:
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        try:
            queue.put_nowait((expires, message))
        except asyncio.QueueFull:  # as channels does: a viewer this far behind resumes from the database
            logger.debug("Channel %s is full; dropped a message for it", channel)

    async def _prune_if_due(self) -> None:
        if self._prune_due():
            await self._in_thread(outbox_prune, self.retention)

    def _prune_due(self) -> bool:
        """True at most once per prune_interval in this process (a rare double prune is harmless)."""
        now = time.monotonic()
        if now - self._pruned_at < self.prune_interval:
            return False
        self._pruned_at = now
        return True

    async def _in_thread(self, func, *args):
        return await sync_to_async(func, thread_sensitive=False, executor=self._executor)(*args)
