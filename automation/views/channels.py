"""The Notification channels page: list with link status and "Send test", an add form per kind
(field errors inline), recent deliveries. Views are thin: forms check shape, services decide.
A webhook's signing secret is rendered once, in the answer to create or rotate (never stored
in the session or a flash message)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import workspace_role_required
from accounts.models import Role
from automation.models import ChannelKind
from automation.notify import linking
from automation.notify.fanout import SUBSCRIBABLE
from automation.selectors import notify as selectors
from automation.services import notify as services
from computehub import htmx
from computehub.errors import ApplicationError
from computehub.forms import submit_form

EVENT_CHOICES = SUBSCRIBABLE


class _ChannelForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, help_text="Optional; how this channel is named here.")
    events = forms.MultipleChoiceField(choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                                       help_text="None ticked: every event.")


class EmailForm(_ChannelForm):
    kind = ChannelKind.EMAIL
    addresses = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="1–10 addresses, comma or line separated.")


class TelegramForm(_ChannelForm):
    kind = ChannelKind.TELEGRAM
    bot_token = forms.CharField(label="Bot token", max_length=200, widget=forms.PasswordInput(render_value=False,
                                attrs={"autocomplete": "off", "spellcheck": "false"}),
                                help_text="From @BotFather. Checked with Telegram, stored encrypted, never shown again.")


class WebhookForm(_ChannelForm):
    kind = ChannelKind.WEBHOOK
    url = forms.CharField(label="URL", max_length=2000, help_text="An http(s) address on the internet; we POST signed JSON.")


FORMS = {form.kind: form for form in (EmailForm, TelegramForm, WebhookForm)}


def _context(request, **extra) -> dict:
    channels = list(selectors.channels_for_workspace(workspace=request.workspace))
    for channel in channels:
        pending = channel.kind == ChannelKind.TELEGRAM and not channel.config.get("chat_id")
        channel.link_url = linking.link_url(channel) if pending else ""
    forms_by_kind = {kind: extra.pop(f"{kind}_form", None) or form(prefix=kind) for kind, form in FORMS.items()}
    return {"channels": channels, "forms": forms_by_kind, "can_write": request.membership.allows(Role.DEVELOPER),
            "deliveries": selectors.recent_notifications(workspace=request.workspace), **extra}


@require_safe
@workspace_role_required
def index(request):
    return render(request, "automation/channels.html", _context(request))


@require_POST
@sensitive_post_parameters("telegram-bot_token")
@workspace_role_required
def create(request, kind):
    form_class = FORMS.get(kind)
    if form_class is None:
        return _back(request)
    form = form_class(request.POST, prefix=kind)
    ok, created = submit_form(form, lambda data: services.channel_create(
        workspace=request.workspace, user=request.user, data={"kind": kind, **_clean(data)}))
    if not ok:
        return render(request, "automation/channels.html", _context(request, **{f"{kind}_form": form}), status=422)
    channel, secret = created
    if secret:
        return render(request, "automation/channels.html", _context(request, new_secret=secret, secret_for=channel))
    return _back(request, success=f"Added “{channel.name}”.")


def _clean(data: dict) -> dict:
    return {key: value for key, value in data.items() if value not in ("", None) or key == "events"}


def _channel(request, channel_id):
    return selectors.channel_get(workspace=request.workspace, channel_id=channel_id)


def _back(request, *, success: str = "", error: str = ""):
    """Back to the channels list, with the outcome as a flash message."""
    if success:
        messages.success(request, success)
    if error:
        messages.error(request, error)
    return redirect("automation:channels")


@require_POST
@workspace_role_required
def send_test(request, channel_id):
    channel = _channel(request, channel_id)
    _, result = services.channel_send_test(channel=channel, user=request.user)
    if htmx.is_partial(request):
        return htmx.render_fragment(request, "automation/partials/channels_test_result.html", {"result": result})
    return render(request, "automation/channels.html", _context(request, test_result=result, tested=channel))


@require_POST
@workspace_role_required
def rotate(request, channel_id):
    channel = _channel(request, channel_id)
    try:
        secret = services.channel_rotate_secret(channel=channel)
    except ApplicationError as refused:
        return _back(request, error=refused.message)
    return render(request, "automation/channels.html", _context(request, new_secret=secret, secret_for=channel))


@require_POST
@workspace_role_required
def toggle(request, channel_id):
    channel = _channel(request, channel_id)
    services.channel_update(channel=channel, data={"enabled": not channel.enabled})
    return _back(request, success=f"“{channel.name}” is {'on' if channel.enabled else 'off'}.")


@require_POST
@workspace_role_required
def delete(request, channel_id):
    channel = _channel(request, channel_id)
    services.channel_delete(channel=channel)
    return _back(request, success=f"Deleted “{channel.name}”.")


@require_POST
@workspace_role_required
def check_link(request, channel_id):
    channel = _channel(request, channel_id)
    try:
        linked = services.telegram_link_check(channel=channel)
    except ApplicationError as refused:
        return _back(request, error=refused.message)
    if linked:
        return _back(request, success=f"“{channel.name}” is linked to {channel.config.get('chat_title', 'a chat')}.")
    return _back(request, error="No Start yet: open the link in Telegram, press Start, then check again.")


urlpatterns = [
    path("channels/", index, name="channels"),
    path("channels/add/<str:kind>/", create, name="channel-create"),
    path("channels/<uuid:channel_id>/test/", send_test, name="channel-test"),
    path("channels/<uuid:channel_id>/rotate-secret/", rotate, name="channel-rotate"),
    path("channels/<uuid:channel_id>/toggle/", toggle, name="channel-toggle"),
    path("channels/<uuid:channel_id>/delete/", delete, name="channel-delete"),
    path("channels/<uuid:channel_id>/check-link/", check_link, name="channel-check-link"),
]
