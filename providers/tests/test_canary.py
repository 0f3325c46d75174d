"""The canary key goes through every flow that touches a provider key and must come out nowhere:
no response body, no exception message (chained ones included), no log record. conftest.py's
session-wide handler fails the whole run if any test ever logs it."""

import logging

import pytest

from computehub.errors import ApplicationError
from conftest import CANARY_KEY, _CanaryHandler
from providers import services
from providers.models import ProviderCredential
from providers.tests.credential_fakes import fake_clouds  # noqa: F401

CREDENTIALS = "/api/v1/credentials/"
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def watch(caplog, _canary_never_logged):
    """Every record of the test at DEBUG, plus the session handler's count before the test."""
    caplog.set_level(logging.DEBUG)
    leaks_before = len(_canary_never_logged.leaks)
    yield caplog
    assert CANARY_KEY not in caplog.text
    assert len(_canary_never_logged.leaks) == leaks_before


def _exception_texts(exc: BaseException) -> str:
    texts = []
    while exc is not None:
        texts += [repr(exc), str(exc), str(getattr(exc, "fields", ""))]
        exc = exc.__cause__ or exc.__context__
    return " ".join(texts)


def assert_clean(response):
    assert CANARY_KEY.encode() not in response.content, response.content[:300]


@pytest.mark.parametrize("mode", ["refuse", "down", "echo"])
def test_service_refusals_never_carry_the_canary(team, fake_clouds, watch, mode):
    fake_clouds.mode = mode
    with pytest.raises(ApplicationError) as caught:
        services.credential_create(workspace=team["workspace"], provider="runpod", api_key=CANARY_KEY,
                                   label="c", created_by=team["admin"])
    assert CANARY_KEY not in _exception_texts(caught.value)
    assert fake_clouds.calls >= 1  # the provider really saw (and echoed) the key


def test_api_flows_never_return_or_log_the_canary(team, api_client_for, fake_clouds, watch):
    client = api_client_for(team["admin"], team["workspace"])
    body = {"provider": "runpod", "label": "Canary", "api_key": CANARY_KEY}
    for mode in ("refuse", "down", "echo"):
        fake_clouds.mode = mode
        response = client.post(CREDENTIALS, body, format="json")
        assert response.status_code >= 400 and not ProviderCredential.objects.exists()
        assert_clean(response)
    fake_clouds.mode = "ok"
    created = client.post(CREDENTIALS, body, format="json")
    assert created.status_code == 201
    detail = f"{CREDENTIALS}{created.json()['id']}/"
    for response in (created, client.post(CREDENTIALS, body, format="json"), client.get(CREDENTIALS),
                     client.get(detail), client.get("/api/v1/providers/"), client.delete(detail)):
        assert_clean(response)
    assert client.get(CREDENTIALS).json()["count"] == 0


def test_page_flows_never_render_or_log_the_canary(team, client_in, fake_clouds, watch):
    client = client_in(team["admin"], team["workspace"])
    form = {"provider": "runpod", "label": "Canary", "api_key": CANARY_KEY}
    for mode, headers in (("refuse", HX), ("refuse", {}), ("down", HX), ("echo", HX)):
        fake_clouds.mode = mode
        response = client.post("/providers/connect/", form, **headers)
        assert response.status_code == 422 and not ProviderCredential.objects.exists()
        assert_clean(response)
    fake_clouds.mode = "ok"
    assert_clean(client.post("/providers/connect/", form, **HX))
    credential = ProviderCredential.objects.get()
    assert services.credential_secret(credential) == CANARY_KEY  # the canary really is the stored key
    for response in (client.post("/providers/connect/", form, **HX), client.get("/providers/"),
                     client.post(f"/providers/accounts/{credential.pk}/delete/", **HX), client.get("/providers/")):
        assert_clean(response)
    assert not ProviderCredential.objects.exists()


def test_the_session_handler_catches_the_canary_in_messages_and_tracebacks():
    """Guards the guard: a fresh handler (not the session's, so the run is not failed) sees it."""
    handler, logger = _CanaryHandler(), logging.getLogger("canary.selftest")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("plain %s", "nothing")
        assert handler.leaks == []
        logger.debug("arg %s", CANARY_KEY)
        try:
            raise ValueError(CANARY_KEY)
        except ValueError:
            logger.exception("no key in the message itself")
        assert len(handler.leaks) == 2
    finally:
        logger.removeHandler(handler)
