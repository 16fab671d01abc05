"""Faults on demand (overloaded, server errors, timeouts, broken streams) so lessons can show retries.

Only Messages requests (`POST /v1/messages`, streamed or not) are eligible: they are what an agent
retries. Each eligible request gets an ordinal, and a fault is planned either on a **schedule**
(`schedule("overloaded", at=[3, 7])`: the 3rd and 7th Messages requests from now; `fail_next(2)`)
or **at random** (`random(rate=0.1, seed=1)`: each request fails with probability 0.1, decided by
the seed and the request's ordinal alone, so a rerun fails the same requests). Every SDK retry is a
new request with the next ordinal. Kinds (reference §1.5, §2):

- `overloaded`: HTTP 529 `overloaded_error`.
- `api_error`: HTTP 500 `api_error`.
- `timeout`: HTTP 504 `timeout_error`, delivered only after `after_s` modelled seconds (default from
  `data/models.yaml`); make it longer than the client's timeout to see a client-side timeout.
- `stream_error`: a stream that starts, then breaks off with an `error` event (`overloaded_error`),
  as the docs say can happen mid-stream; on a non-streamed request it is a 529.

`should_retry` adds the `x-should-retry` header that the SDK obeys over the status code.

Retry advice: without a `retry-after` the SDK backs off 0.5 s, 1 s, 2 s ... with a random jitter, so
its retries would take a different time on every run. So a fault response carries that same back-off,
for the attempt named by `x-stainless-retry-count`, with a seeded jitter, as `retry-after` (with
milliseconds): retries cost the time they would cost against the real service, the same on every
run. The real API does not necessarily send such a header on 5xx: an assumption, for determinism.
"""

from __future__ import annotations

import dataclasses
import json
import random as random_module
import threading
from collections.abc import Iterable, Mapping

from anthropic._constants import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY

from . import streaming
from .wire import APIError, SimRequest, SimResponse, retry_headers

KINDS = {
    "overloaded": (529, "Overloaded"),
    "api_error": (500, "Internal server error"),
    "timeout": (504, "Request timed out. Consider using streaming for long-running requests."),
    "stream_error": (529, "Overloaded"),
}


@dataclasses.dataclass(frozen=True)
class Fault:
    """One injected failure: which Messages request (ordinal) and how it fails."""

    ordinal: int
    kind: str
    should_retry: bool | None = None
    after_s: float = 0.0


class FaultError(APIError):
    """A fault's error response, with how long (modelled seconds) it takes to arrive."""

    def __init__(self, fault: Fault, headers: Mapping[str, str]) -> None:
        status, message = KINDS[fault.kind]
        if fault.should_retry is not None:
            headers = {**headers, "x-should-retry": str(fault.should_retry).lower()}
        super().__init__(status, message, headers)
        self.latency = fault.after_s


@dataclasses.dataclass(frozen=True)
class _Random:
    rate: float
    kinds: tuple[str, ...]
    seed: int
    start: int  # ordinals counted after this one
    should_retry: bool | None


class Faults:
    """The fault plan of one simulated service (thread-safe); `log` lists every fault injected."""

    def __init__(self, seed: int, timeout_after_s: float) -> None:
        self.seed = seed
        self.timeout_after_s = timeout_after_s
        self.log: list[Fault] = []
        self._count = 0
        self._planned: dict[int, Fault] = {}
        self._random: _Random | None = None
        self._lock = threading.Lock()

    def schedule(self, kind: str = "overloaded", at: Iterable[int] = (1,), *,
                 should_retry: bool | None = None, after_s: float | None = None) -> None:
        """Fail the Messages requests at these ordinals, counted from now (1 = the next one)."""
        fault_kind = _kind(kind)
        with self._lock:
            for ordinal in at:
                if ordinal < 1:
                    raise ValueError(f"ordinals count from 1 (the next request), got {ordinal}")
                absolute = self._count + ordinal
                self._planned[absolute] = Fault(absolute, fault_kind, should_retry, self._delay(kind, after_s))

    def fail_next(self, n: int = 1, kind: str = "overloaded", *, should_retry: bool | None = None,
                  after_s: float | None = None) -> None:
        """Fail the next `n` Messages requests."""
        self.schedule(kind, range(1, n + 1), should_retry=should_retry, after_s=after_s)

    def random(self, rate: float, kinds: Iterable[str] = ("overloaded",), seed: int | None = None, *,
               should_retry: bool | None = None) -> None:
        """Fail each following Messages request with probability `rate`, kind drawn from `kinds`."""
        if not 0 <= rate <= 1:
            raise ValueError(f"rate must be between 0 and 1, got {rate}")
        chosen = tuple(_kind(k) for k in kinds)
        if not chosen:
            raise ValueError("random faults need at least one kind")
        with self._lock:
            self._random = _Random(rate, chosen, self.seed if seed is None else seed, self._count,
                                   should_retry)

    def clear(self) -> None:
        """No more faults: forget the schedule and the random rate (the log is kept)."""
        with self._lock:
            self._planned.clear()
            self._random = None

    def before(self, request: SimRequest) -> Fault | None:
        """Raise the error of a fault planned for this request; a `stream_error` on a streamed request
        is returned instead, for `after` to break the stream once it exists."""
        if request.method != "POST" or request.path.rstrip("/") != "/v1/messages":
            return None
        with self._lock:
            self._count += 1
            fault = self._planned.pop(self._count, None) or self._draw(self._count)
            if fault is None:
                return None
            self.log.append(fault)
        if fault.kind == "stream_error" and _streamed(request):
            return fault
        raise FaultError(fault, retry_headers(self._backoff(fault, request), whole=False))

    def after(self, fault: Fault | None, response: SimResponse) -> SimResponse:
        """Break a successful stream halfway with an `error` event, as a mid-stream overload does."""
        if fault is None or response.status != 200 or response.events is None:
            return response
        events = list(response.events)
        response.events = streaming.interrupt(events, max(1, len(events) // 2),
                                              message=KINDS["stream_error"][1])
        return response

    def _draw(self, ordinal: int) -> Fault | None:
        plan = self._random
        if plan is None or ordinal <= plan.start:
            return None
        rng = random_module.Random(f"{plan.seed}:{ordinal - plan.start}")
        if rng.random() >= plan.rate:
            return None
        kind = plan.kinds[rng.randrange(len(plan.kinds))]
        return Fault(ordinal, kind, plan.should_retry, self._delay(kind, None))

    def _backoff(self, fault: Fault, request: SimRequest) -> float:
        """The SDK's own backoff before its next attempt (seeded jitter in place of its random one)."""
        try:
            retries = int(request.headers.get("x-stainless-retry-count", "0"))
        except ValueError:
            retries = 0
        jitter = 1 - 0.25 * random_module.Random(f"{self.seed}:backoff:{fault.ordinal}").random()
        return min(INITIAL_RETRY_DELAY * 2.0 ** min(retries, 1000), MAX_RETRY_DELAY) * jitter

    def _delay(self, kind: str, after_s: float | None) -> float:
        if kind != "timeout":
            return 0.0
        return self.timeout_after_s if after_s is None else after_s


def _kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}: choose one of {', '.join(KINDS)}")
    return kind


def _streamed(request: SimRequest) -> bool:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("stream") is True
