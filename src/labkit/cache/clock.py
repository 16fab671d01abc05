"""A clock you move by hand, so expiry can be shown and tested without waiting."""

from __future__ import annotations


class ManualClock:
    """Seconds that pass only when `advance()` says so: `Cache(..., clock=ManualClock())`.

    >>> clock = ManualClock(100.0)
    >>> clock.advance(3600); clock()
    3700.0
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self.now += seconds
