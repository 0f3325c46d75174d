"""Reads of notification channels and deliveries, always scoped to one workspace."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from automation.models import Notification, NotificationChannel, NotificationStatus


def channels_for_workspace(*, workspace) -> QuerySet[NotificationChannel]:
    return NotificationChannel.objects.filter(workspace=workspace)


def channel_get(*, workspace, channel_id) -> NotificationChannel:
    """404 for another workspace's channel, as for one that does not exist."""
    return get_object_or_404(NotificationChannel, workspace=workspace, pk=channel_id)


def notifications_for_workspace(*, workspace, channel_id=None, status: str = "") -> QuerySet[Notification]:
    """The delivery log, newest first; unknown filter values give an empty list, not an error."""
    found = Notification.objects.filter(workspace=workspace).select_related("channel")
    if channel_id:
        found = found.filter(channel_id=channel_id)
    if status:
        found = found.filter(status=status) if status in NotificationStatus.values else found.none()
    return found.order_by("-created_at", "-id")


def recent_notifications(*, workspace, limit: int = 20) -> list[Notification]:
    return list(notifications_for_workspace(workspace=workspace)[:limit])
