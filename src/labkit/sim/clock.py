"""Simulated time: API-equivalent seconds that pass `1 / time_scale` times faster than wall time.

Cache lifetimes, rate-limit buckets and batch processing all read this clock, so waiting 3 wall
seconds at time scale 0.01 lets a 5-minute cache entry expire, as 5 real minutes would. `advance()`
jumps ahead ("an hour later") without waiting; at time scale 0 only `advance()` moves the clock.
"""

from __future__ import annotations

import threading
import time

# Simulated time starts at a fixed instant so that timestamps in responses are reproducible.
EPOCH = 1_795_000_000.0  # 2026-11-17T08:53:20Z


class Clock:
    def __init__(self, time_scale: float) -> None:
        self.time_scale = time_scale
        self._start = time.monotonic()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Simulated seconds since the Unix epoch."""
        elapsed = (time.monotonic() - self._start) / self.time_scale if self.time_scale > 0 else 0.0
        with self._lock:
            return EPOCH + elapsed + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
