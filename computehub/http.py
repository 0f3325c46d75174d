"""The one outbound HTTP client factory, the retry policy and the per-credential rate limiters.

Every call to a provider (and later to webhooks) goes through ``make_client`` and
``request_with_retries`` so that timeouts, retries, backoff and redaction are decided once
(reference/providers.md §8, reliability.md §4.3).

Secrets: provider keys travel in headers, and RunPod also accepts ``?api_key=`` in the URL, so
nothing here ever logs or raises a full URL or a header. ``safe_url`` keeps scheme, host and path
only; ``redact`` masks known secrets and key-looking query parameters in free text.
"""

import asyncio
import email.utils
import logging
import math
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx

logger = logging.getLogger(__name__)

USER_AGENT = "ComputeHub/1.0"
# Connect fails fast (a dead host should not hold a worker); reads get 30 s because offer
# catalogs are large. Launch calls pass their own longer timeout per request.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
REDACTED = "[redacted]"

# Methods whose replay cannot create anything new. PUT is deliberately absent: Vast.ai creates
# an instance with ``PUT /asks/{id}/``, so a replayed PUT can rent a second GPU.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
# Failures where the request provably never reached the server: safe to retry for any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request may have been received (read timeout, dropped connection).
_MAYBE_APPLIED = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
_KEY_PARAM = re.compile(r"(?i)\b((?:api[_-]?)?(?:key|token|secret))=([^&\s\"'#]+)")
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")

_rng = random.Random()


class NetworkError(Exception):
    """The upstream could not be reached or answered garbage; the message holds no URL query,
    header or key. Adapters turn it into ``ProviderUnavailable``."""


# --- Redaction -------------------------------------------------------------------------------


def safe_url(url: httpx.URL | str) -> str:
    """Scheme, host, port and path: no query (``?api_key=``), fragment or ``user:pass@``."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError):
        return "<invalid url>"
    port = f":{parsed.port}" if parsed.port else ""
    if not parsed.host:
        return parsed.path
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret, key-like query parameter and auth header value masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _KEY_PARAM.sub(lambda match: f"{match.group(1)}={REDACTED}", text)
    return _AUTH_VALUE.sub(lambda match: f"{match.group(1)} {REDACTED}", text)


class _RedactHttpxUrls(logging.Filter):
    """httpx logs 'HTTP Request: GET <full url>' at INFO; the full URL can carry ``?api_key=``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(safe_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


def _install_log_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactHttpxUrls) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_RedactHttpxUrls())


# Installed at import: every client is built here, so this runs before any request is logged.
_install_log_redaction()


def json_body(response: httpx.Response):
    """The decoded JSON body, or None when it is empty or not JSON: classifiers must not crash on
    the HTML page a proxy in front of the provider answers a 502 with."""
    try:
        return response.json() if response.content else None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both derive from it
        return None


# --- Client ------------------------------------------------------------------------------------


def make_client(
    *,
    base_url: str,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout | float | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with the house defaults. Redirects are not followed: a provider API never
    legitimately redirects, and following one would silently turn a POST into a GET."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
        transport=transport,
        follow_redirects=False,
    )


# --- Rate limiting -------------------------------------------------------------------------------


class RateLimiter:
    """Token bucket: ``burst`` requests at once, then ``rate`` per second.

    A caller reserves its token synchronously (under a thread lock, no await), letting the
    balance go negative, then sleeps off its debt. No asyncio.Lock: one bucket is shared by
    adapters that may run in different event loops (each ``asyncio.run`` in a worker), and an
    asyncio primitive binds to the first loop that waits on it. A caller cancelled while it
    waits keeps its token spent, which errs on the side of sending less.
    """

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        if rate <= 0 or burst < 1:
            raise ValueError("RateLimiter needs rate > 0 and burst >= 1")
        self.rate, self.burst = float(rate), int(burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take one token now; return how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._updated)
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._updated = now
            self._tokens -= 1
            return max(0.0, -self._tokens / self.rate)

    async def acquire(self) -> None:
        wait = self._reserve()
        if wait > 0:
            await self._sleep(wait)


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(key: str, rate: float, burst: int) -> RateLimiter:
    """The process-wide bucket for ``key`` (a credential fingerprint plus a scope such as
    "launch"), so every adapter instance on one credential shares it. Entries are kept for the
    life of the process: a bucket dropped and re-created would start full and allow a burst."""
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(rate, burst)
        elif (limiter.rate, limiter.burst) != (float(rate), int(burst)):
            raise ValueError(f"rate limiter {key!r} already exists with rate={limiter.rate}, burst={limiter.burst}")
        return limiter


# --- Retries -------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None when
    absent or unreadable. A date in the past means 0."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff_delay(attempt: int, *, base_delay: float, max_delay: float) -> float:
    """Full jitter (uniform between 0 and the exponential cap) so many workers that failed
    together do not retry together. ``attempt`` counts from 1."""
    return _rng.uniform(0.0, min(max_delay, base_delay * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class _RetryPolicy:
    classify: Callable[[httpx.Response], Exception | None]
    idempotent: bool
    max_attempts: int
    base_delay: float
    max_delay: float

    def after_exception(self, exc: httpx.RequestError, attempt: int, where: str) -> float:
        """The delay before the next try, or raise: a create whose response timed out may already
        exist at the provider, and replaying it would rent a duplicate instance. The caller
        reconciles by tag (list_instances) instead of retrying blindly."""
        retryable = isinstance(exc, _NOT_SENT) or (self.idempotent and isinstance(exc, _MAYBE_APPLIED))
        if attempt >= self.max_attempts or not retryable:
            # The class name only: httpx messages may quote the URL (query string and all).
            raise NetworkError(f"{type(exc).__name__} on {where}") from None
        return backoff_delay(attempt, base_delay=self.base_delay, max_delay=self.max_delay)

    def after_response(self, response: httpx.Response, attempt: int) -> float | None:
        """None when ``classify`` accepts the response, else the delay before the next try, or
        raise the classified error when this was the last try or the status is not transient."""
        error = self.classify(response)
        if error is None:
            return None
        if attempt >= self.max_attempts or not self._status_retryable(response.status_code):
            raise error
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return backoff_delay(attempt, base_delay=self.base_delay, max_delay=self.max_delay)

    def _status_retryable(self, status: int) -> bool:
        """429 and 503 mean "not processed, come back later". 500, 502 and 504 can hide a request
        the origin did apply (a gateway gave up waiting), so only harmless replays retry them."""
        return status in (429, 503) or (self.idempotent and status in (500, 502, 504))


def _display_url(client: httpx.AsyncClient, url: str) -> str:
    try:
        relative = httpx.URL(url).is_relative_url
    except httpx.InvalidURL:
        return "<invalid url>"
    if relative:
        return safe_url(client.base_url).rstrip("/") + "/" + url.split("?", 1)[0].lstrip("/")
    return safe_url(url)


async def _acquire_all(limiters: Sequence[RateLimiter]) -> None:
    for limiter in limiters:
        await limiter.acquire()


def _as_limiters(limiter: RateLimiter | Sequence[RateLimiter] | None) -> tuple[RateLimiter, ...]:
    if limiter is None:
        return ()
    return (limiter,) if isinstance(limiter, RateLimiter) else tuple(limiter)


async def request_with_retries(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    classify: Callable[[httpx.Response], Exception | None],
    limiter: RateLimiter | Sequence[RateLimiter] | None = None,
    max_attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    idempotent: bool | None = None,
    **kwargs,
) -> httpx.Response:
    """Send one logical request, retrying transient failures, and return the response that
    ``classify`` accepts (returns None for). Otherwise raise the exception ``classify`` maps the
    last response to, or ``NetworkError`` when no usable answer came back.

    Retried: connection failures and timeouts, 429 and 503 for every method; read timeouts,
    dropped connections, 500, 502 and 504 only when replaying is harmless. ``idempotent``
    overrides the method-based guess (GET/HEAD/OPTIONS/DELETE), e.g. True for a read-only GraphQL
    POST. Every attempt takes a token from each limiter, in order (put the scarcest first).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    safe = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
    policy = _RetryPolicy(classify, safe, max_attempts, base_delay, max_delay)
    limiters, where = _as_limiters(limiter), f"{method.upper()} {_display_url(client, url)}"
    for attempt in range(1, max_attempts + 1):
        await _acquire_all(limiters)
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            delay, reason = policy.after_exception(exc, attempt, where), type(exc).__name__
        else:
            delay, reason = policy.after_response(response, attempt), str(response.status_code)
            if delay is None:
                return response
        logger.warning("%s: %s, retry %d/%d in %.2fs", where, reason, attempt + 1, max_attempts, delay)
        await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
