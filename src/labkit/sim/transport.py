"""httpx2 transports that plug the simulator into the real `anthropic` SDK.

The SDK builds and sends real HTTP requests; these transports answer them in-process instead of
opening a socket. Each response is released when the simulated clock reaches the request's arrival
plus its modelled latency (a simulated wait: `SimClock.sleep`), so the simulator's own compute is
part of that latency, as the service's is, and never counts as the caller's local time. A stream's
events are released at their own modelled times.

Client timeouts are read in simulated seconds, like every other time here: a request whose modelled
latency exceeds the client's read timeout waits out the timeout and then raises
`httpx2.ReadTimeout`, which the SDK turns into `APITimeoutError` (and retries, as it would live).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2

from ..clock import Reading, SimClock
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


def _wait(answer: SimResponse, request: httpx2.Request) -> tuple[float, bool]:
    """Modelled seconds until the answer (or the client's read timeout), and whether it times out."""
    limit = (request.extensions.get("timeout") or {}).get("read")
    if limit is not None and answer.latency > limit:
        return limit, True
    return answer.latency, False


def _timed_out(request: httpx2.Request) -> httpx2.ReadTimeout:
    return httpx2.ReadTimeout("the simulated API did not answer within the read timeout", request=request)


class SimTransport(httpx2.BaseTransport):
    def __init__(self, api: SimAPI) -> None:
        self.api = api

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        clock = self.api.clock
        arrived = clock.read()
        body = request.read()
        with clock.pinned(clock.timestamp_of(arrived)):  # the simulator answers as of the arrival
            answer = self.api.handle(_to_sim(request, body))
        if answer.events is not None:
            return httpx2.Response(answer.status, headers=answer.headers,
                                   stream=_SyncEvents(answer.events, clock, arrived))
        seconds, timed_out = _wait(answer, request)
        clock.sleep(seconds, since=arrived)
        if timed_out:
            raise _timed_out(request)
        return httpx2.Response(answer.status, headers=answer.headers, content=answer.content())


class AsyncSimTransport(httpx2.AsyncBaseTransport):
    def __init__(self, api: SimAPI) -> None:
        self.api = api

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        clock = self.api.clock
        arrived = clock.read()
        body = await request.aread()
        with clock.pinned(clock.timestamp_of(arrived)):  # the simulator answers as of the arrival
            answer = self.api.handle(_to_sim(request, body))
        if answer.events is not None:
            return httpx2.Response(answer.status, headers=answer.headers,
                                   stream=_AsyncEvents(answer.events, clock, arrived))
        seconds, timed_out = _wait(answer, request)
        await clock.asleep(seconds, since=arrived)
        if timed_out:
            raise _timed_out(request)
        return httpx2.Response(answer.status, headers=answer.headers, content=answer.content())


class _SyncEvents(httpx2.SyncByteStream):
    """Server-sent events, each released at its modelled time after the request arrived."""

    def __init__(self, events: list[Event], clock: SimClock, arrived: Reading) -> None:
        self.events, self.clock, self.arrived = events, clock, arrived

    def __iter__(self) -> Iterator[bytes]:
        for event in self.events:
            self.clock.sleep(event.at, since=self.arrived)
            yield event.encode()


class _AsyncEvents(httpx2.AsyncByteStream):
    def __init__(self, events: list[Event], clock: SimClock, arrived: Reading) -> None:
        self.events, self.clock, self.arrived = events, clock, arrived

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self.events:
            await self.clock.asleep(event.at, since=self.arrived)
            yield event.encode()
