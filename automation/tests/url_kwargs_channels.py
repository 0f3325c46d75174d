"""URL kwarg values for the notification routes (computehub/tests/test_api_access.py)."""


def _channel(workspace, scenario):
    from automation.models import ChannelKind, NotificationChannel

    return NotificationChannel.objects.create(workspace=workspace, kind=ChannelKind.EMAIL, name="addressed",
                                              config={"addresses": ["ops@example.com"]}).pk


URL_KWARGS = {"channel_id": _channel}
