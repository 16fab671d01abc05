"""Simulated time: API-equivalent seconds that pass `1 / time_scale` times faster than wall time.

Cache lifetimes, rate-limit buckets and batch processing all read this clock, so waiting 3 wall
seconds at time scale 0.01 lets a 5-minute cache entry expire, as 5 real minutes would. `advance()`
jumps ahead ("an hour later") without waiting; at time scale 0 only `advance()` moves the clock.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import time
from collections.abc import Iterator

# Simulated time starts at a fixed instant so that timestamps in responses are reproducible.
EPOCH = 1_795_000_000.0  # 2026-11-18T11:06:40Z
MIN_RETRY_WALL_S = 0.001


class Clock:
    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()
        self._pinned = threading.local()

    def now(self) -> float:
        """Simulated seconds since the Unix epoch (the pinned instant inside `at()`)."""
        pinned = getattr(self._pinned, "at", None)
        if pinned is not None:
            return pinned
        elapsed = (time.monotonic() - self._start) / self.time_scale if self.time_scale > 0 else 0.0
        with self._lock:
            return EPOCH + elapsed + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    @contextlib.contextmanager
    def at(self, instant: float) -> Iterator[None]:
        """Let this thread's `now()` read `instant`: a batch request is answered at its scheduled
        start (so its cache reads and writes happen then), while other threads keep the real clock."""
        previous = getattr(self._pinned, "at", None)
        self._pinned.at = instant
        try:
            yield
        finally:
            self._pinned.at = previous

    def retry_headers(self, api_seconds: float) -> dict[str, str]:
        """Headers telling a client to wait `api_seconds` of simulated time before retrying.

        The SDK sleeps `retry-after-ms` (else `retry-after`) in wall seconds, while this clock runs
        `1 / time_scale` times faster, so both carry the scaled wait (at least 1 ms, as the SDK treats
        0 as "no advice"); `x-labkit-retry-after-api-seconds` keeps the real API's figure.
        """
        wall = max(api_seconds * self.time_scale, MIN_RETRY_WALL_S)
        return {"retry-after": f"{wall:.3f}", "retry-after-ms": f"{wall * 1000:.1f}",
                "x-labkit-retry-after-api-seconds": f"{api_seconds:.3f}"}


def rfc3339(instant: float) -> str:
    """An instant as the API writes timestamps: RFC 3339 in UTC with a `Z`."""
    moment = datetime.datetime.fromtimestamp(instant, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
