"""pytest fixtures for the loopback fakes; import them into a test module to use them."""

import pytest

from automation.fakes import telegram, webhook

BOT_TOKEN = "123456789:AAH-canary-bot-token-SECRET-0123456789"
BOT_USERNAME = "computehub_test_bot"


@pytest.fixture(scope="session")
def _telegram_server():
    api, server = telegram.serve()
    yield api, server
    server.stop()


@pytest.fixture
def fake_telegram(_telegram_server, settings):
    """The fake Bot API, reset, with one bot (BOT_TOKEN), and the app pointed at it."""
    api, server = _telegram_server
    api.reset()
    api.add_bot(BOT_TOKEN, BOT_USERNAME)
    settings.COMPUTEHUB_TELEGRAM_API_URL = server.url
    yield api
    api.reset()


@pytest.fixture(scope="session")
def _webhook_server():
    receiver, server = webhook.serve()
    yield receiver, server
    server.stop()


@pytest.fixture
def receiver(_webhook_server):
    """A signature-checking webhook receiver; `receiver.url` is where to point a channel."""
    receiver, server = _webhook_server
    receiver.reset()
    receiver.url = f"{server.url}/hooks/computehub"
    yield receiver
    receiver.reset()
