"""Where a credential may point instead of the provider's real API (SSRF guard).

Any Admin can set a credential's base URL, and the server then calls it with the key, so an
address is accepted only when it is *exactly* under an allowed prefix: same scheme, hostname and
port, and a path that continues the prefix's path on a "/" boundary. A plain string prefix test
is not enough: ``https://gw.example.com@169.254.169.254/`` and ``https://gw.example.com.evil.io/``
both start with ``https://gw.example.com``. Userinfo, query strings and fragments are refused
outright: none is needed to name an API root, and each is a way to smuggle a different target.

The sandbox is allowed only below ``<COMPUTEHUB_SANDBOX_URL>/<kind>``, so a RunPod credential
cannot be aimed at the sandbox's Vast cloud or at its control endpoints (``/_sandbox/``).
"""

import logging
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
_DOT_SEGMENTS = {".", ".."}


class UrlRefused(ValueError):
    """The address is malformed or not under an allowed prefix; the message says which."""


@dataclass(frozen=True)
class UrlPrefix:
    scheme: str
    host: str
    port: int
    segments: tuple[str, ...]  # the path, split on "/", empty segments dropped

    def covers(self, other: "UrlPrefix") -> bool:
        same_origin = (self.scheme, self.host, self.port) == (other.scheme, other.host, other.port)
        return same_origin and other.segments[:len(self.segments)] == self.segments


def _split(url: str) -> SplitResult:
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise UrlRefused("The base URL must be an http:// or https:// address.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("The base URL must not contain a user name or password.")
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise UrlRefused("The base URL must not contain a query (?) or a fragment (#).")
    return parts


def _port(parts: SplitResult) -> int:
    try:
        return parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:  # "http://host:99999/" or "http://host:x/"
        raise UrlRefused("The base URL has an invalid port.") from None


def _segments(path: str) -> tuple[str, ...]:
    """Decoded so "%2e%2e" cannot hide a "..": a dot segment could climb out of the prefix."""
    segments = tuple(unquote(segment) for segment in path.split("/") if segment)
    if any(segment in _DOT_SEGMENTS or "/" in segment or "\\" in segment for segment in segments):
        raise UrlRefused("The base URL must not contain '.', '..' or encoded slashes in its path.")
    return segments


def parse(url: str) -> UrlPrefix:
    """Raises UrlRefused for anything that is not a plain http(s) origin plus path."""
    parts = _split(url)
    return UrlPrefix(parts.scheme, parts.hostname.lower(), _port(parts), _segments(parts.path))


def _parse_setting(url: str) -> UrlPrefix | None:
    try:
        return parse(url)
    except UrlRefused as exc:  # an operator's typo must not open (or crash) anything
        logger.warning("Ignoring allowed provider URL %r: %s", url, exc)
        return None


def allowed_prefixes(kind: str) -> list[UrlPrefix]:
    """The gateways an operator listed, and the sandbox cloud of this provider kind."""
    raw = list(settings.COMPUTEHUB_ALLOWED_PROVIDER_URLS)
    if settings.COMPUTEHUB_SANDBOX_URL:
        raw.append(f"{settings.COMPUTEHUB_SANDBOX_URL.rstrip('/')}/{kind}")
    return [prefix for prefix in map(_parse_setting, raw) if prefix is not None]


def is_allowed(url: str, kind: str) -> bool:
    """Raises UrlRefused when the URL itself is malformed; False when it is fine but not allowed."""
    candidate = parse(url)
    return any(prefix.covers(candidate) for prefix in allowed_prefixes(kind))
