"""Outbound HTTP to addresses users choose (webhook URLs, a non-default Telegram API), refusing the
server's own network: private, loopback, link-local (cloud metadata included), CGNAT, multicast,
reserved and unspecified addresses, also when wrapped in IPv4-mapped or NAT64 IPv6.

The check happens when the socket is opened (reliability.md §2.5, healthchecks' opensocket): the
host is resolved once, every answer is checked, and the connection goes to the checked address,
so a DNS answer that changes between check and connect (rebinding) cannot swap it. Redirects are
never followed. `settings.COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE` lifts the refusal (loopback tests).
Save-time validation (`validate_url`) catches the obvious cases early with a field error.

Error texts name no URL: a Telegram URL carries the bot token in its path.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

MAX_URL_LENGTH = 2000
MAX_RESPONSE_BYTES = 64 * 1024
REFUSED_MESSAGE = "Connections to private or internal addresses are not allowed."

# Not covered by `is_global` alone in every Python version, or worth naming explicitly.
_BLOCKED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "100.64.0.0/10",  # CGNAT (shared address space)
    "169.254.169.254/32", "fd00:ec2::254/128",  # cloud metadata services
    "64:ff9b:1::/48",  # local-use NAT64
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """The destination is internal (or the URL unusable); the message is safe to show."""


def allow_private() -> bool:
    return bool(getattr(settings, "COMPUTEHUB_OUTBOUND_ALLOW_PRIVATE", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for every address a user-chosen URL must not reach."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None and is_internal(embedded):
            return True
    if any(ip in network for network in _BLOCKED_NETWORKS if network.version == ip.version):
        return True
    return ip.is_multicast or ip.is_unspecified or ip.is_reserved or not ip.is_global


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, including legacy IPv4 spellings the C resolver
    accepts ("0x7f000001", "2130706433", "127.1"); None for a DNS name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _is_local_name(host: str) -> bool:
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


def validate_url(url: str) -> str:
    """The URL stripped, or OutboundRefused saying what is wrong (for a field error on save)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise OutboundRefused("Enter an http:// or https:// URL (at most 2000 characters).")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise OutboundRefused("This URL is not valid.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("Only http:// and https:// URLs are allowed.")
    if "@" in parts.netloc:
        raise OutboundRefused("The URL must not contain a user name or password.")
    if not allow_private() and _names_internal_host(parts.hostname):
        raise OutboundRefused(REFUSED_MESSAGE)
    return url


def _names_internal_host(host: str) -> bool:
    address = literal_address(host)
    return _is_local_name(host) if address is None else is_internal(address)


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (one DNS lookup). Tests replace it to fake DNS."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses to connect to, or OutboundRefused if any answer is internal."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise OutboundRefused("The host name could not be resolved.") from None
    if not addresses:
        raise OutboundRefused("The host name could not be resolved.")
    if not allow_private() and any(is_internal(ipaddress.ip_address(a.split("%")[0])) for a in addresses):
        raise OutboundRefused(REFUSED_MESSAGE)
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks, then connects to the checked address (TLS still verifies the name:
    httpcore passes the origin host as server_hostname, not the address)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last_error: Exception | None = None
        for address in checked_addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last_error = exc
        raise httpcore.ConnectError("Connection failed.") from last_error


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__(retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_GuardedBackend(), retries=0,
            max_connections=10, max_keepalive_connections=0)


def guarded_client(*, timeout: float = 10.0) -> httpx.Client:
    """A client that refuses internal destinations at connect time and never follows redirects.
    Environment proxies are ignored: a proxy would connect on our behalf, past the check."""
    return httpx.Client(transport=GuardedTransport(), timeout=httpx.Timeout(timeout, connect=5.0),
                        follow_redirects=False, trust_env=False, headers={"User-Agent": "ComputeHub-Notify/1.0"})


def read_limited(response: httpx.Response, limit: int = MAX_RESPONSE_BYTES) -> bytes:
    """At most `limit` bytes of a streamed response body: a receiver cannot make us buffer gigabytes."""
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= limit:
            return body[:limit]
    return body


def post_json(url: str, *, content: bytes, headers: dict, timeout: float = 10.0) -> tuple[int, bytes, httpx.Headers]:
    """POST through the guard: (status, first 64 KiB of the body, headers). Raises
    OutboundRefused for internal destinations and httpx.HTTPError for transport failures."""
    validate_scheme(url)
    with guarded_client(timeout=timeout) as client:
        request = client.build_request("POST", url, content=content,
                                       headers={"Content-Type": "application/json", **headers})
        response = client.send(request, stream=True)
        try:
            return response.status_code, read_limited(response), response.headers
        finally:
            response.close()


def validate_scheme(url: str) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise OutboundRefused("Only http:// and https:// URLs are allowed.")
