"""The probes: an HTTP(S) GET, a TCP connect, or the provider's status as the reconciler last
recorded it. Each answers ok, fail or unknown; unknown (the provider's API erring, a 429, no
address to probe yet) never counts toward down."""

import asyncio
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from computehub.http import USER_AGENT

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"
MAX_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ProbeResult:
    outcome: str  # ok | fail | unknown
    error: str = ""
    latency_ms: float | None = None


_SAFE_PATH = "/?=&%:@!$'()*+,;~-._"
_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """Certificates are not verified: GPU instances mostly serve self-signed ones, and a probe
    sends nothing secret. Built once: a context is costly and can be shared."""
    global _tls
    if _tls is None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        _tls = context
    return _tls


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _http_verdict(status: int, path: str, latency_ms: float) -> ProbeResult:
    if 200 <= status < 400:
        return ProbeResult(OK, latency_ms=latency_ms)
    if status == 429:  # the service asks us to slow down: says nothing about it being down
        return ProbeResult(UNKNOWN, f"HTTP 429 on {path} (rate limited)", latency_ms)
    return ProbeResult(FAIL, f"HTTP {status} on {path}", latency_ms)


async def _status_code(url: str) -> int:
    """One GET, read up to the status line. A hand-written HTTP/1.1 request rather than httpx:
    only the status matters, and httpx costs ~3 ms of CPU per request (and its pool slows down
    with thousands of connections in flight), which 10,000 checks per 30 s on two cores cannot
    afford; this costs ~0.4 ms. Redirects are not followed: a 3xx already proves it answers."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    reader, writer = await asyncio.open_connection(
        parts.hostname, port, ssl=_tls_context() if https else None, server_hostname=parts.hostname if https else None)
    try:
        target = quote(parts.path or "/", safe=_SAFE_PATH) + (f"?{quote(parts.query, safe=_SAFE_PATH)}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {USER_AGENT} health-check\r\n"
                     f"Accept: */*\r\nConnection: close\r\n\r\n".encode("ascii", "replace"))
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    fields = status_line.split(b" ", 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise ValueError("not an HTTP answer")
    return int(fields[1])


async def probe_http(url: str, path: str, timeout_s: float) -> ProbeResult:
    """`path` names the request in errors (never the host: remote addresses stay out of them)."""
    timeout = min(timeout_s, MAX_TIMEOUT_S)
    started = time.perf_counter()
    try:
        status = await asyncio.wait_for(_status_code(url), timeout)
    except (TimeoutError, asyncio.TimeoutError):
        return ProbeResult(FAIL, f"No answer on {path} within {timeout:g} s", _elapsed_ms(started))
    except ConnectionRefusedError:
        return ProbeResult(FAIL, f"Connection refused on {path}", _elapsed_ms(started))
    except ssl.SSLError:
        return ProbeResult(FAIL, f"TLS handshake failed on {path}", _elapsed_ms(started))
    except (OSError, ValueError) as exc:
        reason = "not an HTTP answer" if isinstance(exc, ValueError) else "connection failed"
        return ProbeResult(FAIL, f"{reason.capitalize()} on {path}", _elapsed_ms(started))
    return _http_verdict(status, path, _elapsed_ms(started))


async def probe_tcp(host: str, port: int, timeout_s: float) -> ProbeResult:
    timeout = min(timeout_s, MAX_TIMEOUT_S)
    started = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (TimeoutError, asyncio.TimeoutError):
        return ProbeResult(FAIL, f"No TCP answer on port {port} within {timeout:g} s", _elapsed_ms(started))
    except OSError as exc:
        reason = "refused" if isinstance(exc, ConnectionRefusedError) else "failed"
        return ProbeResult(FAIL, f"TCP connect to port {port} {reason}", _elapsed_ms(started))
    latency = _elapsed_ms(started)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return ProbeResult(OK, latency_ms=latency)
