"""httpx2 transports that plug the simulator into the real `anthropic` SDK.

The SDK builds and sends real HTTP requests; these transports answer them in-process instead of
opening a socket. Each response is held back for the simulator's `time_scale` x its modelled latency, so a lesson
feels (and measures) real-world timing at a fraction of the wall time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx2

from .api import SimAPI
from .wire import Event, SimRequest, SimResponse


def _to_sim(request: httpx2.Request, body: bytes) -> SimRequest:
    return SimRequest(
        method=request.method,
        path=request.url.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.url.params),
    )


class SimTransport(httpx2.BaseTransport):
    def __init__(self, api: SimAPI) -> None:
        self.api = api
        self.time_scale = api.time_scale

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        answer = self.api.handle(_to_sim(request, request.read()))
        if answer.events is not None:
            return httpx2.Response(answer.status, headers=answer.headers,
                                   stream=_SyncEvents(answer.events, self.time_scale))
        if answer.latency and self.time_scale:
            time.sleep(answer.latency * self.time_scale)
        return httpx2.Response(answer.status, headers=answer.headers, content=answer.content())


class AsyncSimTransport(httpx2.AsyncBaseTransport):
    def __init__(self, api: SimAPI) -> None:
        self.api = api
        self.time_scale = api.time_scale

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        answer: SimResponse = self.api.handle(_to_sim(request, await request.aread()))
        if answer.events is not None:
            return httpx2.Response(answer.status, headers=answer.headers,
                                   stream=_AsyncEvents(answer.events, self.time_scale))
        if answer.latency and self.time_scale:
            await asyncio.sleep(answer.latency * self.time_scale)
        return httpx2.Response(answer.status, headers=answer.headers, content=answer.content())


class _SyncEvents(httpx2.SyncByteStream):
    """Server-sent events released at their modelled times."""

    def __init__(self, events: list[Event], time_scale: float) -> None:
        self.events = events
        self.time_scale = time_scale

    def __iter__(self) -> Iterator[bytes]:
        start = time.monotonic()
        for event in self.events:
            wait = event.at * self.time_scale - (time.monotonic() - start)
            if wait > 0:
                time.sleep(wait)
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
