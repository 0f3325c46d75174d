"""Reading a provider's Server-Sent Events stream for a bounded time (RunPod's log stream,
reference/providers.md §1.8), with httpx-sse.

A log stream stays open for as long as the container runs, so a reader takes what the server has
sent until the stream goes quiet for `idle_s`, closes, or `total_s` passes: a collector step
never hangs on it. A stream cut mid-way keeps the events that arrived; the caller's cursor makes
the next read continue after them.
"""

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import httpx
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse

from providers.adapters.base import ProviderError, ProviderErrorBase, ProviderUnavailable

CONNECT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # until the headers; events are bounded by `Bounds`


@dataclass(frozen=True)
class Bounds:
    idle_s: float = 0.5  # the backlog arrives in one burst; this much silence means it is all here
    total_s: float = 5.0
    max_events: int = 5000


async def _next_within(events, seconds: float) -> ServerSentEvent | None:
    """The next event, or None when the stream ends, stays quiet for `seconds`, or breaks."""
    try:
        async with asyncio.timeout(seconds):
            return await anext(events)
    except (TimeoutError, StopAsyncIteration, httpx.TransportError):
        return None


async def read_bounded(source: EventSource, bounds: Bounds) -> list[ServerSentEvent]:
    """The events of an open stream until it closes, goes quiet or a bound is reached."""
    loop, received = asyncio.get_running_loop(), []
    deadline = loop.time() + bounds.total_s
    events = source.aiter_sse()
    try:
        while len(received) < bounds.max_events and loop.time() < deadline:
            event = await _next_within(events, min(bounds.idle_s, deadline - loop.time()))
            if event is None:
                break
            received.append(event)
    finally:
        await events.aclose()
    return received


class ServerSentEvents:
    """For a ProviderAdapter: GET an SSE endpoint with the adapter's client, rate limits and error
    mapping (`_classify`), and return the events read within `sse_bounds`."""

    sse_bounds: ClassVar[Bounds] = Bounds()

    async def _read_events(self, url: str, params: dict) -> list[ServerSentEvent]:
        for limiter in self._limiters(None):
            await limiter.acquire()
        try:
            async with aconnect_sse(self._http(), "GET", url, params=params, timeout=CONNECT_TIMEOUT) as source:
                await self._check_stream(source.response)
                return await read_bounded(source, self.sse_bounds)
        except httpx.RequestError as exc:  # the class name only: httpx messages may quote the URL
            raise ProviderUnavailable(f"{self.display_name} could not be reached ({type(exc).__name__})") from None
        except ProviderErrorBase as exc:
            self._scrub_error(exc)
            raise

    async def _check_stream(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            await response.aread()
            raise self._classify(response) or ProviderError(f"HTTP {response.status_code}: {response.text}",
                                                            secrets=(self._api_key,))
        content_type = response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            raise ProviderError(f"{self.display_name} answered a log stream that is not Server-Sent Events "
                                f"({content_type!r})")
