"""A token bucket holding one minute's allowance and refilled continuously, as the API's rate limits
are (reference §8: "continuously replenished up to your maximum limit").

The simulated service keeps one per limit to refuse requests (`labkit.sim.limits`); the client-side
`labkit.parallel.RateLimiter` keeps one per limit to pace them, letting a bucket go into debt.
"""

from __future__ import annotations

__all__ = ["WINDOW_S", "TokenBucket"]

WINDOW_S = 60.0  # every limit is "per minute"


class TokenBucket:
    """`capacity` per minute, full at `now` (seconds on the caller's clock)."""

    __slots__ = ("capacity", "rate", "level", "updated")

    def __init__(self, capacity: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = self.capacity / WINDOW_S
        self.level = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0 if it is now; the level may be in debt)."""
        return max(0.0, (amount - self.level) / self.rate)

    def give(self, amount: float) -> None:
        """Put `amount` back (negative: take more), never above capacity."""
        self.level = min(self.capacity, self.level + amount)

    def full_at(self, now: float) -> float:
        return now + max(0.0, self.capacity - self.level) / self.rate
