"""/api/v1/ routes: notification-channels/ (+ test/, rotate-secret/) and notifications/ (the
delivery log). Reads: any member; writes: Developer and up. Secrets are write-only: the webhook
signing secret appears once, in the create and rotate answers; bot tokens never."""

import uuid

from django.urls import path
from django.views.decorators.debug import sensitive_post_parameters
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from automation.api.fields import invalid_field
from automation.models import ChannelKind, EventType, Notification, NotificationChannel, NotificationStatus
from automation.notify import linking
from automation.selectors import notify as selectors
from automation.services import notify as services
from computehub.api.schema import READ_ERRORS, WRITE_ERRORS, error_responses
from computehub.api.serializers import StrictCharField, StrictSerializer
from computehub.api.views import WorkspaceAPIView


class ChannelWriteSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    name = StrictCharField(required=False, allow_blank=True, max_length=80)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), required=False,
                                   help_text="Event types sent to this channel; empty: all.")
    enabled = serializers.BooleanField(required=False)
    addresses = serializers.ListField(child=StrictCharField(max_length=254), required=False, max_length=10,
                                      help_text="email: 1–10 addresses.")
    bot_token = StrictCharField(required=False, write_only=True, max_length=200,
                                help_text="telegram: the token from @BotFather; checked with getMe, stored encrypted.")
    url = StrictCharField(required=False, max_length=2000, help_text="webhook: an http(s) URL on the internet.")


class ChannelUpdateSerializer(ChannelWriteSerializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices, required=False)


class ChannelSerializer(serializers.ModelSerializer):
    config = serializers.SerializerMethodField(help_text="email: addresses; telegram: bot and chat; webhook: url.")
    link_url = serializers.SerializerMethodField(help_text="telegram, not linked yet: open it and press Start.")

    class Meta:
        model = NotificationChannel
        fields = ["id", "kind", "name", "config", "events", "enabled", "disabled_reason", "last_error",
                  "secret_last4", "link_url", "last_notify_at", "created_at"]

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_config(self, channel) -> dict:
        config = channel.config
        if channel.kind == ChannelKind.TELEGRAM:
            return {"bot_username": config.get("bot_username", ""), "linked": bool(config.get("chat_id")),
                    "chat_title": config.get("chat_title", "")}
        keep = {ChannelKind.EMAIL: ("addresses",), ChannelKind.WEBHOOK: ("url",)}.get(channel.kind, ())
        return {key: config[key] for key in keep if key in config}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_link_url(self, channel):
        if channel.kind != ChannelKind.TELEGRAM or channel.config.get("chat_id"):
            return None
        return linking.link_url(channel)


class ChannelCreatedSerializer(ChannelSerializer):
    signing_secret = serializers.CharField(allow_null=True, read_only=True,
                                           help_text="webhook only, shown this once: `whsec_…`.")

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "signing_secret"]


class SecretSerializer(serializers.Serializer):
    signing_secret = serializers.CharField(help_text="Shown this once. The previous secret signs too for 24 h.")
    secret_last4 = serializers.CharField()


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField(help_text="The exact result: HTTP status, Telegram description, SMTP error.")
    http_status = serializers.IntegerField(allow_null=True)
    notification = serializers.IntegerField(help_text="The delivery log row of this test.")


class NotificationSerializer(serializers.ModelSerializer):
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    channel_kind = serializers.CharField(source="channel.kind", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "channel", "channel_name", "channel_kind", "event", "message_key", "message_id", "attempt",
                  "status", "subject", "http_status", "error", "is_test", "created_at", "sent_at",
                  "next_attempt_at", "duration_ms"]


def _created(request, channel, secret):
    data = ChannelCreatedSerializer(channel, context={"request": request}).data
    data["signing_secret"] = secret
    return Response(data, status=status.HTTP_201_CREATED)


@method_decorator(sensitive_post_parameters("bot_token"), name="dispatch")
class ChannelListApi(WorkspaceAPIView):
    serializer_class = ChannelWriteSerializer

    @extend_schema(operation_id="notification_channels_list",
                   responses={200: ChannelSerializer(many=True), **error_responses(*READ_ERRORS)})
    def get(self, request):
        return self.paginated(selectors.channels_for_workspace(workspace=request.workspace), ChannelSerializer)

    @extend_schema(operation_id="notification_channels_create", summary="Add a channel (Developer+)",
                   description="A webhook's `signing_secret` is in this answer only. A bot token Telegram "
                               "rejects, a bad address or an internal URL is a 400 naming the field; nothing is stored.",
                   request=ChannelWriteSerializer,
                   responses={201: ChannelCreatedSerializer, **error_responses(*WRITE_ERRORS)})
    def post(self, request):
        channel, secret = services.channel_create(workspace=request.workspace, user=request.user,
                                                  data=dict(self.valid_input()))
        return _created(request, channel, secret)


class _ChannelApi(WorkspaceAPIView):
    def _channel(self):
        return selectors.channel_get(workspace=self.request.workspace, channel_id=self.kwargs["channel_id"])


class ChannelDetailApi(_ChannelApi):
    serializer_class = ChannelUpdateSerializer

    @extend_schema(operation_id="notification_channels_retrieve",
                   responses={200: ChannelSerializer, **error_responses(*READ_ERRORS)})
    def get(self, request, channel_id):
        return Response(ChannelSerializer(self._channel()).data)

    @extend_schema(operation_id="notification_channels_partial_update",
                   summary="Rename, change events or destination, switch on/off (Developer+)",
                   request=ChannelUpdateSerializer(partial=True),
                   responses={200: ChannelSerializer, **error_responses(*WRITE_ERRORS)})
    def patch(self, request, channel_id):
        channel = services.channel_update(channel=self._channel(), data=dict(self.valid_input(partial=True)))
        return Response(ChannelSerializer(channel).data)

    @extend_schema(operation_id="notification_channels_destroy", summary="Delete a channel (Developer+)",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, channel_id):
        services.channel_delete(channel=self._channel())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChannelTestApi(_ChannelApi):
    @extend_schema(operation_id="notification_channels_test", request=None,
                   summary="Send a test message now and answer its exact result (Developer+)",
                   responses={200: TestResultSerializer, **error_responses(401, 403, 404)})
    def post(self, request, channel_id):
        row, result = services.channel_send_test(channel=self._channel(), user=request.user)
        return Response({"ok": result.ok, "detail": result.detail, "http_status": result.http_status,
                         "notification": row.pk})


class ChannelRotateApi(_ChannelApi):
    @extend_schema(operation_id="notification_channels_rotate_secret", request=None,
                   summary="New webhook signing secret, shown once; the old one signs too for 24 h (Developer+)",
                   responses={200: SecretSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, channel_id):
        channel = self._channel()
        secret = services.channel_rotate_secret(channel=channel)
        return Response({"signing_secret": secret, "secret_last4": channel.secret_last4})


def _channel_filter(value: str):
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid_field("channel", "Must be a channel UUID.") from None


class NotificationListApi(WorkspaceAPIView):
    @extend_schema(operation_id="notifications_list", summary="The delivery log, newest first (one row per attempt)",
                   parameters=[OpenApiParameter("channel", uuid.UUID, description="Only this channel."),
                               OpenApiParameter("status", str, enum=NotificationStatus.values)],
                   responses={200: NotificationSerializer(many=True), **error_responses(400, 401, 404)})
    def get(self, request):
        found = selectors.notifications_for_workspace(
            workspace=request.workspace, channel_id=_channel_filter(request.query_params.get("channel", "")),
            status=request.query_params.get("status", ""))
        return self.paginated(found, NotificationSerializer)


urlpatterns = [
    path("notification-channels/", ChannelListApi.as_view(), name="api-notification-channel-list"),
    path("notification-channels/<uuid:channel_id>/", ChannelDetailApi.as_view(), name="api-notification-channel-detail"),
    path("notification-channels/<uuid:channel_id>/test/", ChannelTestApi.as_view(), name="api-notification-channel-test"),
    path("notification-channels/<uuid:channel_id>/rotate-secret/", ChannelRotateApi.as_view(),
         name="api-notification-channel-rotate-secret"),
    path("notifications/", NotificationListApi.as_view(), name="api-notification-list"),
]
