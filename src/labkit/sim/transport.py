"""httpx2 transports that plug the simulator into the real `anthropic` SDK.

The SDK builds and sends real HTTP requests; these transports answer them in-process instead of
opening a socket. Each response is released `time_scale` x its modelled latency after the request
arrived, counting the simulator's own compute time as part of that wait, so a lesson feels (and
measures) real-world timing at a fraction of the wall time.

Client timeouts are read in API-equivalent seconds, like every other time here: a request whose
modelled latency exceeds the client's read timeout waits `time_scale` x the timeout and then raises
`httpx2.ReadTimeout`, which the SDK turns into `APITimeoutError` (and retries, as it would live).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx2

from .api import SimAPI
from .wire import Event, SimRequest, SimResponse, paced


def _to_sim(request: httpx2.Request, body: bytes) -> SimRequest:
    return SimRequest(
        method=request.method,
        path=request.url.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.url.params),
    )


def _read_timeout(request: httpx2.Request) -> float | None:
    """The client's read timeout for this request, in seconds (None: wait for ever)."""
    timeout = request.extensions.get("timeout") or {}
    return timeout.get("read")


def _plan(answer: SimResponse, request: httpx2.Request, time_scale: float, started: float
          ) -> tuple[float, bool]:
    """How long to wait still (wall seconds) and whether the wait ends in a read timeout.

    A stream is answered at once: its events carry their own release times.
    """
    if answer.events is not None:
        return 0.0, False
    limit = _read_timeout(request)
    timed_out = limit is not None and answer.latency > limit
    modelled = limit if timed_out else answer.latency
    return max(0.0, modelled * time_scale - (time.monotonic() - started)), timed_out


def _response(answer: SimResponse, time_scale: float, sync: bool) -> httpx2.Response:
    if answer.events is not None:
        stream = _SyncEvents(answer.events, time_scale) if sync else _AsyncEvents(answer.events, time_scale)
        return httpx2.Response(answer.status, headers=answer.headers, stream=stream)
    return httpx2.Response(answer.status, headers=answer.headers, content=answer.content())


class SimTransport(httpx2.BaseTransport):
    def __init__(self, api: SimAPI) -> None:
        self.api = api
        self.time_scale = api.time_scale

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        started = time.monotonic()
        answer = self.api.handle(_to_sim(request, request.read()))
        wait, timed_out = _plan(answer, request, self.time_scale, started)
        if wait:
            time.sleep(wait)
        if timed_out:
            raise httpx2.ReadTimeout("the simulated API did not answer within the read timeout",
                                     request=request)
        return _response(answer, self.time_scale, sync=True)


class AsyncSimTransport(httpx2.AsyncBaseTransport):
    def __init__(self, api: SimAPI) -> None:
        self.api = api
        self.time_scale = api.time_scale

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        started = time.monotonic()
        answer = self.api.handle(_to_sim(request, await request.aread()))
        wait, timed_out = _plan(answer, request, self.time_scale, started)
        if wait:
            await asyncio.sleep(wait)
        if timed_out:
            raise httpx2.ReadTimeout("the simulated API did not answer within the read timeout",
                                     request=request)
        return _response(answer, self.time_scale, sync=False)


class _SyncEvents(httpx2.SyncByteStream):
    """Server-sent events released at their modelled times."""

    def __init__(self, events: list[Event], time_scale: float) -> None:
        self.events = events
        self.time_scale = time_scale

    def __iter__(self) -> Iterator[bytes]:
        for event in paced(self.events, self.time_scale):
            yield event.encode()


class _AsyncEvents(httpx2.AsyncByteStream):
    def __init__(self, events: list[Event], time_scale: float) -> None:
        self.events = events
        self.time_scale = time_scale

    async def __aiter__(self) -> AsyncIterator[bytes]:
        start = time.monotonic()
        for event in self.events:
            wait = event.at * self.time_scale - (time.monotonic() - start)
            if wait > 0:
                await asyncio.sleep(wait)
            yield event.encode()
