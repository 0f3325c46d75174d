"""SSRF: user-supplied URLs never reach the server's own network — refused on save with a field
error and, whatever was saved, at connect time (DNS answers checked, redirects not followed) —
unless COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE is on."""

import pytest

from automation import netguard
from automation.fakes.fixtures import receiver, _webhook_server  # noqa: F401
from automation.models import Notification
from automation.notify import deliver_due
from automation.tests.factories_notify import decided_event, webhook_channel

INTERNAL_URLS = [
    "http://127.0.0.1/", "http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
    "http://[::ffff:127.0.0.1]/", "http://[fd00:ec2::254]/", "http://100.64.0.1/", "http://0x7f000001/",
    "http://2130706433/", "http://localhost:8000/", "http://192.168.1.10/", "http://0.0.0.0/", "http://224.0.0.1/",
]


@pytest.fixture
def private_refused(settings):
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = False


@pytest.fixture
def fake_dns(monkeypatch):
    """Host names resolve through this dict; counts lookups."""
    answers, lookups = {}, []

    def resolve(host, port):
        lookups.append(host)
        return answers[host]

    monkeypatch.setattr(netguard, "resolve", resolve)
    return answers, lookups


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_urls_are_refused_on_save(private_refused, url):
    with pytest.raises(netguard.OutboundRefused, match="private or internal"):
        netguard.validate_url(url)


@pytest.mark.parametrize("url, message", [
    ("ftp://example.com/x", "Only http"), ("file:///etc/passwd", "Only http"), ("gopher://example.com/", "Only http"),
    ("https://user:pw@example.com/", "user name or password"), ("http://example.com:99999/", "not valid"),
    ("", "Enter an http"),
])
def test_malformed_or_non_http_urls_are_refused(url, message):
    with pytest.raises(netguard.OutboundRefused, match=message):
        netguard.validate_url(url)


def test_public_urls_pass_and_the_setting_allows_internal_ones(settings):
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = False
    assert netguard.validate_url(" https://hooks.example.com/x ") == "https://hooks.example.com/x"
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = True
    assert netguard.validate_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/"


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_loopback_is_refused_at_connect_time(private_refused, receiver, host):
    port = receiver.url.split(":")[2].split("/")[0]
    with pytest.raises(netguard.OutboundRefused):
        netguard.post_json(f"http://{host}:{port}/hooks", content=b"{}", headers={})
    assert receiver.deliveries == []


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "::ffff:10.1.1.1", "fd00:ec2::254"])
def test_a_name_resolving_to_an_internal_address_is_refused(private_refused, fake_dns, address):
    answers, _ = fake_dns
    answers["hooks.example.com"] = [address]
    with pytest.raises(netguard.OutboundRefused):
        netguard.post_json("http://hooks.example.com/x", content=b"{}", headers={})


def test_one_internal_answer_among_public_ones_is_enough_to_refuse(private_refused, fake_dns):
    answers, _ = fake_dns
    answers["hooks.example.com"] = ["93.184.216.34", "127.0.0.1"]
    with pytest.raises(netguard.OutboundRefused):
        netguard.post_json("http://hooks.example.com/x", content=b"{}", headers={})


def test_the_connection_goes_to_the_checked_address(receiver, fake_dns):
    """Resolved once, by the guard, and connected to that answer: the OS resolver (which knows
    nothing of this name) is never asked, so a second, different DNS answer cannot be used."""
    answers, lookups = fake_dns
    answers["rebind.example.com"] = ["127.0.0.1"]
    port = receiver.url.split(":")[2].split("/")[0]
    status, _, _ = netguard.post_json(f"http://rebind.example.com:{port}/hooks", content=b"{}", headers={})
    assert status == 400 and len(receiver.deliveries) == 1  # unsigned, so the receiver refuses it
    assert lookups == ["rebind.example.com"]


def test_a_loopback_name_is_refused_then_allowed_by_the_setting(settings, receiver, fake_dns):
    answers, _ = fake_dns
    port = receiver.url.split(":")[2].split("/")[0]
    answers["hooks.internal.test"] = ["127.0.0.1"]
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(netguard.OutboundRefused):
        netguard.post_json(f"http://hooks.internal.test:{port}/", content=b"{}", headers={})
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = True
    netguard.post_json(f"http://hooks.internal.test:{port}/", content=b"{}", headers={})
    assert len(receiver.deliveries) == 1


def test_non_http_schemes_are_refused_at_send_time():
    with pytest.raises(netguard.OutboundRefused):
        netguard.post_json("file:///etc/passwd", content=b"{}", headers={})


def test_a_redirect_to_an_internal_address_is_not_followed(team, receiver):
    channel = webhook_channel(team, receiver)
    receiver.answer_next(302, {"Location": "http://169.254.169.254/latest/meta-data/"})
    decided_event(team)
    deliver_due()
    row = Notification.objects.get(channel=channel)
    assert row.status == "failed" and row.error.startswith("HTTP 302: redirects are not followed")
    assert len(receiver.deliveries) == 1


def test_a_saved_webhook_pointing_inside_is_refused_when_sending(team, receiver, settings):
    channel = webhook_channel(team, receiver)  # saved while allowed (e.g. the setting changed since)
    settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE = False
    decided_event(team)
    deliver_due()
    row = Notification.objects.get(channel=channel)
    assert row.status == "failed" and row.error == netguard.REFUSED_MESSAGE
    assert receiver.deliveries == []


def test_guarded_client_ignores_proxies_and_redirects():
    client = netguard.guarded_client()
    assert client.follow_redirects is False and client.trust_env is False
