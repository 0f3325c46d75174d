"""The database channel layer: two layer instances stand in for two processes (a sender such as
a qcluster worker, and a web process whose tailer delivers to its local consumers)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import InMemoryChannelLayer
from django.db import OperationalError, connections
from django.utils import timezone

from computehub import channel_layer as layer_module
from computehub.channel_layer import DatabaseChannelLayer, _Cursor
from computehub.models import ChannelMessage

pytestmark = pytest.mark.django_db(transaction=True)  # the tailer's thread must see committed rows


@pytest.fixture(autouse=True)
async def _close_sync_thread_connection():
    """sync_to_async runs in one asgiref thread whose connection would outlive the test, and
    PostgreSQL refuses to drop a test database that still has one."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
async def web():
    """A 'web process' layer; its tailer is stopped at the end so its DB connection closes."""
    layer = DatabaseChannelLayer(poll_interval=0.01)
    yield layer
    await layer.close()


async def subscribe(layer, group="workspace.test"):
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    return channel


async def receive(layer, channel, timeout=5):
    return await asyncio.wait_for(layer.receive(channel), timeout)


async def test_message_sent_by_one_layer_reaches_a_consumer_of_another(web):
    worker = DatabaseChannelLayer()  # only sends: never starts a tailer
    channel = await subscribe(web)
    await worker.group_send("workspace.test", {"type": "toast", "message": "hello"})
    assert await receive(web, channel) == {"type": "toast", "message": "hello"}
    assert worker._tailer is None


async def test_only_members_of_the_group_receive(web):
    ours, theirs = await subscribe(web, "workspace.ours"), await subscribe(web, "workspace.theirs")
    await DatabaseChannelLayer().group_send("workspace.theirs", {"type": "toast", "message": "not yours"})
    await DatabaseChannelLayer().group_send("workspace.ours", {"type": "toast", "message": "yours"})
    assert (await receive(web, ours))["message"] == "yours"
    assert (await receive(web, theirs))["message"] == "not yours"


async def test_a_new_tailer_does_not_replay_old_messages(web):
    await sync_to_async(ChannelMessage.objects.create)(group="workspace.test", payload={"type": "old"})
    channel = await subscribe(web)
    await DatabaseChannelLayer().group_send("workspace.test", {"type": "new"})
    assert await receive(web, channel) == {"type": "new"}


async def test_tailer_prunes_messages_older_than_the_retention():
    layer = DatabaseChannelLayer(poll_interval=0.01, retention=60, prune_interval=0)
    old = await sync_to_async(ChannelMessage.objects.create)(group="workspace.test", payload={})
    two_minutes_ago = timezone.now() - timedelta(minutes=2)
    await sync_to_async(ChannelMessage.objects.filter(pk=old.pk).update)(created_at=two_minutes_ago)
    recent = await sync_to_async(ChannelMessage.objects.create)(group="workspace.test", payload={})
    await subscribe(layer)
    try:
        await wait_until(lambda: not ChannelMessage.objects.filter(pk=old.pk).exists())
        assert await sync_to_async(ChannelMessage.objects.filter(pk=recent.pk).exists)()
    finally:
        await layer.close()


def test_senders_prune_too_when_no_web_process_tails():
    old = ChannelMessage.objects.create(group="workspace.test", payload={})
    ChannelMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    async_to_sync(DatabaseChannelLayer(retention=60, prune_interval=0).group_send)("workspace.test", {"type": "x"})
    assert list(ChannelMessage.objects.values_list("payload", flat=True)) == [{"type": "x"}]


async def test_tailer_survives_database_errors(web, monkeypatch):
    real_fetch, failures = layer_module.outbox_fetch, []

    def flaky_fetch(*args):
        if len(failures) < 3:
            failures.append(1)
            raise OperationalError("database is locked")
        return real_fetch(*args)

    monkeypatch.setattr(layer_module, "outbox_fetch", flaky_fetch)
    channel = await subscribe(web)  # after the patch, so the tailer's first polls fail
    await DatabaseChannelLayer().group_send("workspace.test", {"type": "toast", "message": "after the outage"})
    assert (await receive(web, channel))["message"] == "after the outage"
    assert len(failures) == 3 and not web._tailer.done()


async def test_concurrent_senders_lose_nothing():
    """Several worker threads, each with its own connection, send at once. On PostgreSQL their
    commits land out of id order; the tailer's cursor must still deliver every message."""
    web = DatabaseChannelLayer(poll_interval=0.01, capacity=1000)
    channel = await subscribe(web)
    senders, per_sender = 4, 50
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        sent = [loop.run_in_executor(pool, send_many, sender, per_sender) for sender in range(senders)]
        received = [await receive(web, channel, timeout=10) for _ in range(senders * per_sender)]
        await asyncio.gather(*sent)
    await web.close()
    assert sorted((m["sender"], m["n"]) for m in received) == [
        (sender, n) for sender in range(senders) for n in range(per_sender)
    ]


def send_many(sender: int, count: int) -> None:
    """A 'worker process': its own layer instance and its own DB connection (this thread's)."""
    layer = DatabaseChannelLayer()
    try:
        for n in range(count):
            async_to_sync(layer.group_send)("workspace.test", {"type": "line", "sender": sender, "n": n})
    finally:
        connections.close_all()


async def test_group_discard_stops_delivery(web):
    kept, dropped = await subscribe(web), await subscribe(web)
    await web.group_discard("workspace.test", dropped)
    await DatabaseChannelLayer().group_send("workspace.test", {"type": "toast", "message": "hi"})
    assert await receive(web, kept) == {"type": "toast", "message": "hi"}
    assert "workspace.test" in web.groups and dropped not in web.groups["workspace.test"]


async def wait_until(condition, timeout=5):
    """Poll a sync ORM condition from async code until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await sync_to_async(condition)():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- The cursor: out-of-order commits on PostgreSQL ---------------------------------------------


def test_cursor_asks_again_for_ids_skipped_over():
    cursor = _Cursor(after=10)
    cursor.mark(12)  # 11 was assigned to a transaction that has not committed yet
    assert cursor.after == 12 and cursor.missing() == [11]
    cursor.mark(11)  # it committed: delivered, and no longer asked for
    assert cursor.missing() == []


def test_cursor_forgets_skipped_ids_after_a_while():
    cursor = _Cursor(after=0)
    cursor.mark(3)
    assert cursor.missing() == [1, 2]
    cursor.gaps = dict.fromkeys(cursor.gaps, 0.0)  # as if GAP_WAIT_S had passed: rolled back
    assert cursor.missing() == []


def test_cursor_does_not_track_huge_jumps():
    cursor = _Cursor(after=0)
    cursor.mark(1_000_000)
    assert cursor.after == 1_000_000 and cursor.missing() == []


def test_expiry_sweep_runs_at_most_once_a_second(monkeypatch):
    """The in-memory sweep walks every channel; per message it made many viewers fall behind."""
    sweeps = []
    monkeypatch.setattr(InMemoryChannelLayer, "_clean_expired", lambda self: sweeps.append(1))
    layer = DatabaseChannelLayer()
    for _ in range(100):
        layer._clean_expired()
    assert len(sweeps) == 1


async def test_local_delivery_gives_each_member_its_own_copy_and_skips_malformed_rows():
    layer = DatabaseChannelLayer()
    one, two = await layer.new_channel(), await layer.new_channel()
    await join_without_tailer(layer, "g", one, two)
    await layer._deliver("g", ["not", "an", "object"])
    await layer._deliver("g", {"type": "toast", "message": "hi"})
    first, second = await layer.receive(one), await layer.receive(two)
    assert first == second == {"type": "toast", "message": "hi"} and first is not second


async def join_without_tailer(layer, group, *channels):
    """Join without starting the tailer: the test drives delivery by hand."""
    for channel in channels:
        await InMemoryChannelLayer.group_add(layer, group, channel)
