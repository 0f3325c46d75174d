"""The one module that calls the channel layer. Producers (services, tasks) call `publish_*`;
consumers join the groups named here. Payloads are plain dicts with a `type` the consumer handles."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def workspace_group(workspace_id) -> str:
    return f"workspace.{workspace_id}"


def publish(group: str, message: dict) -> None:
    async_to_sync(get_channel_layer().group_send)(group, message)


def publish_workspace_toast(*, workspace_id, message: str, level: str = "info") -> None:
    publish(workspace_group(workspace_id), {"type": "toast", "level": level, "message": message})
