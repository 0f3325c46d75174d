"""The Notification channels page: list, add forms with field errors, the one-time secret, the
test button's result, Viewer refused, other workspaces' channels 404."""

import pytest
from django.urls import reverse

from automation.fakes.fixtures import receiver, _webhook_server  # noqa: F401
from automation.models import NotificationChannel
from automation.tests.factories_notify import decided_event, email_channel, webhook_channel
from automation.notify import deliver_due


def test_viewer_sees_channels_and_deliveries_but_no_forms(client_in, team, receiver):
    webhook_channel(team, receiver, name="Pager hook")
    decided_event(team, summary="gpu-1 is down")
    deliver_due()
    html = client_in(team["viewer"], team["workspace"]).get(reverse("automation:channels")).content.decode()
    assert "Pager hook" in html and "gpu-1 is down" in html and "Sent" in html
    assert "Add webhook" not in html and "whsec_" not in html


def test_adding_a_webhook_shows_the_secret_once(client_in, team, receiver):
    client = client_in(team["developer"], team["workspace"])
    response = client.post(reverse("automation:channel-create", args=["webhook"]), {"webhook-url": receiver.url})
    channel = NotificationChannel.objects.get()
    html = response.content.decode()
    assert response.status_code == 200 and "whsec_" in html and "not shown again" in html
    assert "whsec_" not in client.get(reverse("automation:channels")).content.decode()
    assert channel.secret_last4 in html


def test_bad_input_shows_field_errors_and_stores_nothing(client_in, team, settings):
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = False
    client = client_in(team["developer"], team["workspace"])
    response = client.post(reverse("automation:channel-create", args=["webhook"]), {"webhook-url": "http://10.0.0.1/"})
    assert response.status_code == 422 and "private or internal" in response.content.decode()
    response = client.post(reverse("automation:channel-create", args=["email"]), {"email-addresses": "nope"})
    assert response.status_code == 422 and "Not a valid email address" in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_send_test_button_shows_the_result(client_in, team, receiver):
    channel = webhook_channel(team, receiver)
    receiver.answer_next(404)
    response = client_in(team["developer"], team["workspace"]).post(
        reverse("automation:channel-test", args=[channel.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "HTTP 404" in response.content.decode()


@pytest.mark.parametrize("name", ["channel-test", "channel-toggle", "channel-delete", "channel-rotate"])
def test_viewer_cannot_write_and_strangers_get_404(client_in, team, other_team, name):
    channel = email_channel(team)
    url = reverse(f"automation:{name}", args=[channel.pk])
    assert client_in(team["viewer"], team["workspace"]).post(url).status_code == 403
    assert client_in(other_team["admin"], other_team["workspace"]).post(url).status_code == 404
    assert NotificationChannel.objects.filter(pk=channel.pk, enabled=True).exists()
