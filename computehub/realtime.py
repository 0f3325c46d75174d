"""The one module that calls the channel layer. Producers (services, tasks) call `publish_*`;
consumers join and leave the groups named here. Payloads are plain JSON-able dicts with a `type`
the consumer handles.

Which layer carries a message is a setting: without REDIS_URL it is
computehub.channel_layer.DatabaseChannelLayer (a row in an outbox table, tailed by each web
process); with REDIS_URL it is channels-redis. Callers do not need to know which.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

# Sends scheduled on a running loop; kept referenced so they are not garbage-collected mid-flight.
_pending_sends: set[asyncio.Task] = set()


def workspace_group(workspace_id) -> str:
    return f"workspace.{workspace_id}"


def publish(group: str, message: dict) -> None:
    """Send `message` to every consumer in `group`, from sync code.

    Outside a running event loop (views, services, qcluster tasks, commands) it returns once the
    layer has taken the message. With the database layer that is an INSERT on the caller's
    connection, so inside `transaction.atomic` the message leaves only if the transaction commits,
    whereas Redis sends at once: publish from `transaction.on_commit` to behave the same on both.

    Inside a running event loop (sync code called straight from async code) waiting would block
    that loop, so the send is scheduled on it and `publish` returns at once; failures are logged.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(get_channel_layer().group_send)(group, message)
        return
    task = loop.create_task(get_channel_layer().group_send(group, message))
    _pending_sends.add(task)
    task.add_done_callback(_send_finished)


def _send_finished(task: asyncio.Task) -> None:
    _pending_sends.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("Publishing to the channel layer failed", exc_info=task.exception())


def publish_workspace_toast(*, workspace_id, message: str, level: str = "info") -> None:
    publish(workspace_group(workspace_id), {"type": "toast", "level": level, "message": message})


def publish_membership_revoked(*, workspace_id, user_id) -> None:
    """Tell `user_id`'s open sockets on this workspace to close: membership is checked at connect,
    so without this a removed member would keep receiving the workspace's events. Goes to the
    whole group (consumers are not addressed per user); each consumer ignores other users' events.
    Call from `transaction.on_commit`, so a rolled-back removal closes nothing."""
    publish(workspace_group(workspace_id), {"type": "membership.revoked", "user_id": str(user_id)})


async def group_join(group: str, channel_name: str) -> None:
    """Called by a consumer once it has decided the connection may see `group`."""
    await get_channel_layer().group_add(group, channel_name)


async def group_leave(group: str, channel_name: str) -> None:
    await get_channel_layer().group_discard(group, channel_name)
