"""computehub.http: client defaults, the retry policy, Retry-After, the token bucket, redaction."""

import email.utils
import logging
import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from computehub import http
from computehub.http import NetworkError, RateLimiter, limiter_for, make_client, parse_retry_after, request_with_retries
from providers.adapters.base import AuthError, NotFound, ProviderError, ProviderUnavailable, RateLimited

CANARY = "sk-CANARY-123"
BASE = "https://api.example.test"


def classify(response: httpx.Response):
    """A plain status mapping, as a provider adapter would write."""
    status = response.status_code
    if status < 300:
        return None
    if status == 429:
        return RateLimited(parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        return ProviderUnavailable(f"HTTP {status}")
    return {401: AuthError, 404: NotFound}.get(status, lambda: ProviderError(response.text))()


class Server:
    """A MockTransport that answers from a script (responses or exceptions, last one repeats)
    and records every request it saw."""

    def __init__(self, *script):
        self.script, self.requests = list(script), []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("simulated failure for " + str(request.url), request=request)
        return step

    def client(self) -> httpx.AsyncClient:
        return make_client(base_url=BASE, transport=httpx.MockTransport(self))


class FakeSleep:
    def __init__(self):
        self.delays = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def send(server: Server, method="GET", url="/things", **kwargs):
    sleep = kwargs.pop("sleep", None) or FakeSleep()
    async with server.client() as client:
        response = await request_with_retries(client, method, url, classify=classify, sleep=sleep, **kwargs)
    return response, sleep


def ok(status=200, **kwargs):
    return httpx.Response(status, json={"ok": True}, **kwargs)


# --- make_client ---------------------------------------------------------------------------------


async def test_client_defaults():
    server = Server(ok())
    async with server.client() as client:
        assert client.timeout.connect == 5 and client.timeout.read == 30
        assert client.follow_redirects is False
        await client.get("/x")
    assert server.requests[0].headers["User-Agent"] == "ComputeHub/1.0"


async def test_redirect_is_not_followed_and_is_an_error():
    server = Server(httpx.Response(302, headers={"Location": "https://elsewhere.test/"}), ok())
    with pytest.raises(ProviderError):
        await send(server)
    assert len(server.requests) == 1


async def test_caller_headers_and_timeout_override_defaults():
    client = make_client(base_url=BASE, headers={"User-Agent": "x", "Authorization": "Bearer k"}, timeout=120)
    assert client.headers["User-Agent"] == "x" and client.timeout.read == 120
    await client.aclose()


# --- Retry-After and backoff ---------------------------------------------------------------------


async def test_429_retry_after_seconds_is_honoured():
    server = Server(httpx.Response(429, headers={"Retry-After": "7"}), ok())
    response, sleep = await send(server)
    assert response.status_code == 200 and sleep.delays == [7.0]


async def test_429_retry_after_http_date_is_honoured():
    when = datetime.now(timezone.utc) + timedelta(seconds=10)
    server = Server(httpx.Response(429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}), ok())
    _, sleep = await send(server)
    assert len(sleep.delays) == 1 and 8.5 <= sleep.delays[0] <= 10.0


async def test_retry_after_is_capped_at_max_delay():
    server = Server(httpx.Response(503, headers={"Retry-After": "3600"}), ok())
    _, sleep = await send(server, max_delay=20)
    assert sleep.delays == [20]


async def test_429_without_retry_after_backs_off_exponentially_to_the_cap(monkeypatch):
    monkeypatch.setattr(http._rng, "uniform", lambda low, high: high)  # the top of each jitter range
    server = Server(httpx.Response(429))
    with pytest.raises(RateLimited) as raised:
        await send(server, max_attempts=6, base_delay=1, max_delay=10, sleep=(sleep := FakeSleep()))
    assert sleep.delays == [1, 2, 4, 8, 10]
    assert raised.value.retry_after is None and len(server.requests) == 6


async def test_backoff_jitter_stays_inside_the_exponential_bound():
    http._rng.seed(1234)
    delays = [http.backoff_delay(attempt, base_delay=0.5, max_delay=20) for attempt in range(1, 11) for _ in range(50)]
    bounds = [min(20, 0.5 * 2 ** (attempt - 1)) for attempt in range(1, 11) for _ in range(50)]
    assert all(0 <= delay <= bound for delay, bound in zip(delays, bounds))
    assert len(set(delays)) > 400  # jittered, not a fixed schedule every worker would share


async def test_exhausted_429_raises_rate_limited_with_the_last_retry_after():
    server = Server(httpx.Response(429, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited) as raised:
        await send(server, max_attempts=3)
    assert raised.value.retry_after == 2.0 and len(server.requests) == 3


RETRY_AFTER_SECONDS = [("0", 0.0), ("  5 ", 5.0), ("-3", 0.0), ("soon", None), ("inf", None), ("nan", None), ("", None),
                       (None, None)]


@pytest.mark.parametrize("value, expected", RETRY_AFTER_SECONDS)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_date_in_the_past_means_now():
    now = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Tue, 01 Sep 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("Tue, 01 Sep 2026 12:00:30 GMT", now=now) == 30.0


# --- What is retried -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_are_retried_then_raised_as_unavailable(status):
    server = Server(httpx.Response(status))
    with pytest.raises(ProviderUnavailable):
        await send(server, max_attempts=4)
    assert len(server.requests) == 4


async def test_transient_error_then_success_returns_the_response():
    server = Server(httpx.Response(503), httpx.ConnectError, ok())
    response, sleep = await send(server)
    assert response.json() == {"ok": True} and len(sleep.delays) == 2


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
async def test_connection_errors_are_retried_for_every_method_then_raised(method):
    server = Server(httpx.ConnectError)
    with pytest.raises(NetworkError, match="ConnectError"):
        await send(server, method=method, max_attempts=3)
    assert len(server.requests) == 3  # never connected, so even a create is safe to resend


@pytest.mark.parametrize("status, error", [(400, ProviderError), (401, AuthError), (404, NotFound)])
async def test_client_errors_are_never_retried(status, error):
    server = Server(httpx.Response(status, text="no"), ok())
    with pytest.raises(error):
        await send(server)
    assert len(server.requests) == 1


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_create_whose_response_timed_out_is_not_resent(method):
    server = Server(httpx.ReadTimeout, ok())
    with pytest.raises(NetworkError, match="ReadTimeout"):
        await send(server, method=method, url="/asks/1/")
    assert len(server.requests) == 1


async def test_read_timeout_is_retried_for_get_and_for_a_post_marked_idempotent():
    for method, idempotent in (("GET", None), ("POST", True)):
        server = Server(httpx.ReadTimeout, ok())
        response, _ = await send(server, method=method, idempotent=idempotent)
        assert response.status_code == 200 and len(server.requests) == 2


@pytest.mark.parametrize("method, calls", [("GET", 3), ("DELETE", 3), ("POST", 1), ("PUT", 1)])
async def test_500_is_retried_only_for_idempotent_methods(method, calls):
    server = Server(httpx.Response(500))
    with pytest.raises(ProviderUnavailable):
        await send(server, method=method, max_attempts=3)
    assert len(server.requests) == calls


async def test_post_503_and_429_are_retried_because_they_were_not_processed():
    server = Server(httpx.Response(503), httpx.Response(429), ok(201))
    response, _ = await send(server, method="POST")
    assert response.status_code == 201 and len(server.requests) == 3


async def test_every_attempt_takes_a_token_from_every_limiter():
    taken = []

    class Counting(RateLimiter):
        async def acquire(self):
            taken.append(self.rate)

    server = Server(httpx.Response(503), ok())
    await send(server, limiter=(Counting(0.1, 1), Counting(1, 1)))
    assert taken == [0.1, 1, 0.1, 1]


# --- Rate limiter --------------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def assert_within_rate(times, rate, burst):
    """No window [start, start + t] lets more than rate * t + burst requests through."""
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= rate * (times[j] - start) + burst + 1e-9, (start, times[j], j - i + 1)


async def test_limiter_sequential_callers_never_exceed_rate_times_t_plus_burst():
    clock, rng = FakeClock(), random.Random(7)
    limiter = RateLimiter(2.0, 3, clock=clock, sleep=clock.sleep)
    passed = []
    for _ in range(200):
        clock.now += rng.choice([0, 0, 0, 0.1, 0.4, 2.5])  # bursts with idle gaps between them
        await limiter.acquire()
        passed.append(clock.now)
    assert_within_rate(passed, rate=2.0, burst=3)
    assert passed[-1] - passed[0] < 200  # it throttles, it does not stall


async def test_limiter_concurrent_callers_are_spaced_by_their_reservations():
    clock, waits = FakeClock(), []

    async def record(seconds):
        waits.append(seconds)

    limiter = RateLimiter(1.0, 2, clock=clock, sleep=record)
    for _ in range(10):
        await limiter.acquire()  # all at t=0: each sleep only records, the clock stands still
    passed = [0.0, 0.0] + waits
    assert_within_rate(passed, rate=1.0, burst=2)
    assert waits == pytest.approx([1, 2, 3, 4, 5, 6, 7, 8])


def test_limiter_for_shares_one_bucket_per_key_and_refuses_conflicting_settings():
    one = limiter_for("lambda:fp-shared-test", 1.0, 1)
    assert limiter_for("lambda:fp-shared-test", 1.0, 1) is one
    assert limiter_for("lambda:fp-shared-test:launch", 1 / 12, 1) is not one
    with pytest.raises(ValueError):
        limiter_for("lambda:fp-shared-test", 5.0, 1)


def test_limiter_rejects_nonsense():
    with pytest.raises(ValueError):
        RateLimiter(0, 1)


# --- Secrets never leak --------------------------------------------------------------------------


async def test_no_log_line_or_error_contains_the_key_even_in_the_query_string(caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # settings quiet it; an operator may not
    url = f"{BASE}/graphql?api_key={CANARY}"
    for script in ((ok(),), (httpx.Response(503), httpx.ConnectError), (httpx.UnsupportedProtocol,)):
        server = Server(*script)
        async with make_client(base_url=BASE, headers={"Authorization": f"Bearer {CANARY}"},
                               transport=httpx.MockTransport(server)) as client:
            try:
                await request_with_retries(client, "POST", url, classify=classify, sleep=FakeSleep(), max_attempts=2)
            except NetworkError as exc:
                assert CANARY not in str(exc) and "api.example.test/graphql" in str(exc)
                assert exc.__suppress_context__  # the httpx exception (with the URL) is not shown
    assert any("HTTP Request" in record.getMessage() for record in caplog.records)  # httpx did log
    assert any("retry" in record.getMessage() for record in caplog.records)
    assert not [record for record in caplog.records if CANARY in record.getMessage()]


def test_safe_url_drops_query_fragment_and_userinfo():
    assert http.safe_url(f"https://user:{CANARY}@h.test:8443/p/q?api_key={CANARY}#f") == "https://h.test:8443/p/q"


def test_redact_masks_secrets_key_parameters_and_auth_values():
    text = f"GET /x?api_key={CANARY}&a=1 Authorization: Bearer {CANARY} token={CANARY}"
    assert CANARY not in http.redact(text)  # the patterns alone catch the usual shapes
    assert "a=1" in http.redact(text)
    assert http.redact(f"echoed: {CANARY}.", secrets=(CANARY, "")) == "echoed: [redacted]."


@pytest.mark.parametrize("content, expected", [(b'{"a": 1}', {"a": 1}), (b"<html>502</html>", None), (b"", None),
                                               (b"\xff", None)])
def test_json_body_tolerates_non_json(content, expected):
    assert http.json_body(httpx.Response(502, content=content)) == expected
