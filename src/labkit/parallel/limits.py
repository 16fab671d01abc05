"""A client-side rate limiter: token buckets for requests, input and output tokens per minute.

The API refuses (429) what exceeds its limits; pacing requests on the client avoids the refusals and
the retry waits they cost. The buckets work like the API's (docs/simulator.md, "Rate limits"): each
holds one minute's allowance, starts full and refills continuously; a request takes one request,
its input tokens and its `max_tokens` of output (capped at one minute's worth), and the unused
output is given back when the answer's `usage` is known.

**Units.** Limits are per minute of the clock the limiter reads (`labkit.clock`): simulated
minutes offline, where waiting in the limiter is a simulated wait, so a limiter set to a tier's
published figures paces requests exactly as the simulated service counts them, and unchanged
against the live API.

A request is admitted in arrival order: `reserve` takes its amounts at once, letting a bucket go into
debt, and answers how long to wait until the debt is repaid (a "virtual scheduling" token bucket).
That needs no lock held across a wait, so one limiter serves any event loop and any thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from .. import models
from ..buckets import TokenBucket
from ..clock import Clock
from .errors import ParallelError

KINDS = ("requests", "input_tokens", "output_tokens")
REMAINING = {kind: f"anthropic-ratelimit-{kind.replace('_', '-')}-remaining" for kind in KINDS}


class RateLimiter:
    """Token buckets for requests / input tokens / output tokens per minute.

    Give any subset of the three limits; `RateLimiter.for_tier("tier1")` uses a usage tier's
    published figures from `data/models.yaml`. The API keeps separate limits per model class, so use
    one limiter per model class. `clock`: what the minutes are counted on (default: the configured
    clock, `labkit.backend.clock()`).
    """

    def __init__(self, requests_per_minute: float | None = None, input_tokens_per_minute: float | None = None,
                 output_tokens_per_minute: float | None = None, *, clock: Clock | None = None) -> None:
        limits = dict(zip(KINDS, (requests_per_minute, input_tokens_per_minute, output_tokens_per_minute)))
        for kind, value in limits.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not value > 0):
                raise ParallelError(f"{kind}_per_minute must be a positive number or None, got {value!r}")
        if all(value is None for value in limits.values()):
            raise ParallelError("a RateLimiter needs at least one limit, e.g. requests_per_minute=50")
        if clock is None:
            from .. import backend

            clock = backend.clock()
        self.clock = clock
        now = clock.now()
        self._buckets = {kind: TokenBucket(value, now) for kind, value in limits.items() if value is not None}
        self._lock = threading.Lock()

    @classmethod
    def for_tier(cls, tier: str | None = None, headroom: float = 1.0, *, clock: Clock | None = None) -> "RateLimiter":
        """The limits of a usage tier (`tier1` ... `tier4`, `start`, `scale`), times `headroom`
        (0.9 keeps 10% spare for other clients of the same organisation)."""
        if not 0 < headroom <= 1:
            raise ParallelError(f"headroom is a fraction in (0, 1], got {headroom!r}")
        spec = models.catalog().tier(tier)
        return cls(spec.requests_per_minute * headroom, spec.input_tokens_per_minute * headroom,
                   spec.output_tokens_per_minute * headroom, clock=clock)

    @property
    def limits(self) -> dict[str, float]:
        """The per-minute limits in force, by kind."""
        return {kind: bucket.capacity for kind, bucket in self._buckets.items()}

    def available(self) -> dict[str, float]:
        """What each bucket holds now (negative: owed by requests already waiting)."""
        with self._lock:
            self._refill()
            return {kind: bucket.level for kind, bucket in self._buckets.items()}

    def reserve(self, requests: int = 1, input_tokens: int = 0, output_tokens: int = 0) -> float:
        """Take a request's amounts now and return the seconds (on its clock) it must wait before
        it is sent (0: at once). Raises ParallelError for a request that exceeds a whole minute of
        input, which no wait could admit (the API answers such a request 429 with `x-should-retry: false`)."""
        need = self._need(requests, input_tokens, output_tokens)
        with self._lock:
            self._refill()
            wait = 0.0
            for kind, amount in need.items():
                bucket = self._buckets[kind]
                bucket.level -= amount
                wait = max(wait, bucket.wait_for(0))
            return wait

    def refund(self, requests: int = 0, input_tokens: int = 0, output_tokens: int = 0) -> None:
        """Give amounts back: a request that was never sent, or output that was not produced
        (negative amounts charge more). Output is capped as in `reserve`."""
        amounts = dict(zip(KINDS, (requests, input_tokens, self._cap("output_tokens", output_tokens))))
        with self._lock:
            self._refill()
            for kind, amount in amounts.items():
                bucket = self._buckets.get(kind)
                if bucket is not None and amount:
                    bucket.give(amount)

    def settle(self, input_tokens: int, output_tokens: int, usage: Any) -> None:
        """Correct a request's reservation with the `usage` of its answer, if it has one: give back
        unused output (and over-estimated input), or charge what was under-estimated."""
        if usage is None:
            return
        used_out = getattr(usage, "output_tokens", None)
        used_in = getattr(usage, "input_tokens", None)
        if used_in is not None:
            used_in += getattr(usage, "cache_creation_input_tokens", None) or 0  # cache reads are free
        out = self._cap("output_tokens", output_tokens)
        self.refund(input_tokens=input_tokens - used_in if used_in is not None else 0,
                    output_tokens=out - used_out if used_out is not None else 0)

    def observe(self, headers: Any) -> None:
        """Lower the buckets to what the server says remains (`anthropic-ratelimit-*-remaining`, sent
        with answers and with 429s) when it is stricter than the client's count: other clients may
        share the organisation's limits, and a request reaches the server a little after it was
        reserved here, so the server's window can lag the client's."""
        with self._lock:
            self._refill()
            for kind, bucket in self._buckets.items():
                try:
                    remaining = float(headers.get(REMAINING[kind]))
                except (TypeError, ValueError):
                    continue
                bucket.level = min(bucket.level, remaining)

    async def acquire(self, requests: int = 1, input_tokens: int = 0, output_tokens: int = 0) -> float:
        """Wait (asynchronously) until a request may be sent; returns the seconds waited. A
        cancelled wait gives its reservation back."""
        wait = self.reserve(requests, input_tokens, output_tokens)
        if wait > 0:
            try:
                await self.clock.asleep(wait)
            except asyncio.CancelledError:
                self.refund(requests, input_tokens, output_tokens)
                raise
        return wait

    def _need(self, requests: int, input_tokens: int, output_tokens: int) -> dict[str, float]:
        if min(requests, input_tokens, output_tokens) < 0:
            raise ParallelError("requests and token counts cannot be negative")
        need = {"requests": requests, "input_tokens": input_tokens,
                "output_tokens": self._cap("output_tokens", output_tokens)}
        bucket = self._buckets.get("input_tokens")
        if bucket is not None and input_tokens > bucket.capacity:
            raise ParallelError(f"a request of {input_tokens:,} input tokens exceeds the limit of "
                                f"{bucket.capacity:,.0f} per minute: no wait could admit it; shorten the prompt")
        return {kind: amount for kind, amount in need.items() if kind in self._buckets and amount}

    def _cap(self, kind: str, amount: int) -> float:
        """Output reservations are capped at one minute's allowance, as the API caps them."""
        bucket = self._buckets.get(kind)
        return min(amount, bucket.capacity) if bucket is not None else amount

    def _refill(self) -> None:
        now = self.clock.now()
        for bucket in self._buckets.values():
            bucket.refill(now)

    def __repr__(self) -> str:
        parts = ", ".join(f"{kind.replace('_', ' ')} {value:,.0f}/min" for kind, value in self.limits.items())
        return f"RateLimiter({parts})"
