"""Rate limits: token buckets for requests, input tokens and output tokens, per model class.

As the rate-limits docs describe (reference §8): each limit is a bucket of one minute's allowance,
"continuously replenished up to your maximum limit" on the simulated clock. A request needs one
request, its input tokens (uncached input + cache writes; cache reads are free) and its `max_tokens`
of output, reserved at admission; `settle` gives back what the answer did not use. Buckets are kept
per model class (the family: haiku, sonnet, opus, ...) and start full.

A refusal is the API's 429 `rate_limit_error` with the `anthropic-ratelimit-*` headers and a
`retry-after` in whole seconds, as the real API sends it. Every admitted request gets the same
`anthropic-ratelimit-*` headers on its response (reflecting its admission). Times are seconds of
the service's clock (`SimClock.timestamp()`), passed in by the caller.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import math
import threading
from collections.abc import Iterator

from ..buckets import TokenBucket
from ..models import Catalog, ModelProfile, RateLimitTier
from .wire import APIError, retry_headers, rfc3339

DOCS_URL = "https://docs.claude.com/en/api/rate-limits"
LIMITS = ("requests", "input-tokens", "output-tokens")
UNITS = {"requests": "requests", "input-tokens": "input tokens", "output-tokens": "output tokens"}


class OrganisationLimits:
    """The organisation's limits for one tier; `set_tier("tier1")` lets a lesson meet 429s."""

    def __init__(self, catalog: Catalog, tier: str | None = None) -> None:
        self.catalog = catalog
        self._lock = threading.Lock()
        self._exempt = threading.local()
        self._buckets: dict[str, dict[str, TokenBucket]] = {}
        # Output tokens to give back when an answer ends: (simulated time, model class, tokens).
        self._refunds: list[tuple[float, str, float]] = []
        self.tier: RateLimitTier = catalog.tier(tier)

    def set_tier(self, name: str | None = None) -> RateLimitTier:
        """Switch to a tier from `data/models.yaml` (the default tier when None), with full buckets."""
        tier = self.catalog.tier(name)
        with self._lock:
            self.tier = tier
            self._buckets.clear()
            self._refunds.clear()
        return tier

    def reset(self) -> None:
        """Refill every bucket, as after a long pause."""
        with self._lock:
            self._buckets.clear()
            self._refunds.clear()

    @contextlib.contextmanager
    def exempt(self) -> Iterator[None]:
        """Skip the Messages limits in this thread: batch requests are limited by the batch queue."""
        previous = getattr(self._exempt, "on", False)
        self._exempt.on = True
        try:
            yield
        finally:
            self._exempt.on = previous

    def admit(self, profile: ModelProfile, input_tokens: int, max_tokens: int, now: float) -> dict[str, str]:
        """Admit a request or raise APIError(429); returns the `anthropic-ratelimit-*` headers."""
        if getattr(self._exempt, "on", False):
            return {}
        with self._lock:
            buckets = self._for(profile, now)
            need = {"requests": 1, "input-tokens": input_tokens,
                    "output-tokens": min(max_tokens, buckets["output-tokens"].capacity)}
            if input_tokens > buckets["input-tokens"].capacity:
                raise self._refusal(buckets, "input-tokens", None, now)
            short = {name: buckets[name].wait_for(amount) for name, amount in need.items()}
            worst = max(short, key=short.__getitem__)
            if short[worst] > 0:
                raise self._refusal(buckets, worst, short[worst], now)
            for name, amount in need.items():
                buckets[name].level -= amount
            return _headers(buckets, now)

    def settle(self, profile: ModelProfile, reserved_output: int, actual_output: int, at: float) -> None:
        """When the answer ends (simulated time `at`), give back the output tokens reserved at
        admission but not produced (or charge the excess): until then the reservation holds."""
        if getattr(self._exempt, "on", False):
            return
        reserved = min(reserved_output, self.tier.output_tokens_per_minute)
        with self._lock:
            heapq.heappush(self._refunds, (at, model_class(profile.id), reserved - actual_output))

    def _for(self, profile: ModelProfile, now: float) -> dict[str, TokenBucket]:
        """The refilled buckets of the profile's model class (created full on first use)."""
        key = model_class(profile.id)
        if key not in self._buckets:
            capacities = {"requests": self.tier.requests_per_minute,
                          "input-tokens": self.tier.input_tokens_per_minute,
                          "output-tokens": self.tier.output_tokens_per_minute}
            self._buckets[key] = {name: TokenBucket(c, now) for name, c in capacities.items()}
        for bucket in self._buckets[key].values():
            bucket.refill(now)
        while self._refunds and self._refunds[0][0] <= now:
            _, family, tokens = heapq.heappop(self._refunds)
            if family in self._buckets:
                self._buckets[family]["output-tokens"].give(tokens)
        return self._buckets[key]

    def _refusal(self, buckets: dict[str, TokenBucket], name: str, wait: float | None, now: float) -> APIError:
        """The 429: `wait` None means the request alone exceeds a whole minute's allowance, so
        retrying cannot help and `x-should-retry: false` says so."""
        limit = int(buckets[name].capacity)
        message = (f"This request would exceed your organization's rate limit of {limit:,} "
                   f"{UNITS[name]} per minute (simulated {self.tier.name}). For details, refer to: "
                   f"{DOCS_URL}. You can see the response headers for current usage. Please reduce the "
                   "prompt length or the maximum tokens requested, or try again later.")
        headers = _headers(buckets, now)
        if wait is None:
            headers["x-should-retry"] = "false"
        else:
            headers.update(retry_headers(wait))
        return APIError(429, message, headers)



def model_class(model_id: str) -> str:
    """The family a model's limits are shared with: `claude-sonnet-5-5` -> `sonnet`."""
    parts = model_id.split("-")
    return parts[1] if len(parts) > 1 and parts[0] == "claude" else model_id


@functools.lru_cache(maxsize=1024)
def _reset_stamp(second: int) -> str:
    """A reset instant, rounded up to whole seconds (formatting dates per request was a hot spot)."""
    return rfc3339(second)


def _headers(buckets: dict[str, TokenBucket], now: float) -> dict[str, str]:
    """`anthropic-ratelimit-{requests,input-tokens,output-tokens,tokens}-{limit,remaining,reset}`;
    `tokens-*` repeat whichever token limit is the most restrictive (least left, proportionally)."""
    out = {}
    for name in LIMITS:
        bucket = buckets[name]
        out[f"anthropic-ratelimit-{name}-limit"] = str(int(bucket.capacity))
        out[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, math.floor(bucket.level)))
        out[f"anthropic-ratelimit-{name}-reset"] = _reset_stamp(math.ceil(bucket.full_at(now)))
    tightest = min(("input-tokens", "output-tokens"), key=lambda n: buckets[n].level / buckets[n].capacity)
    for field in ("limit", "remaining", "reset"):
        out[f"anthropic-ratelimit-tokens-{field}"] = out[f"anthropic-ratelimit-{tightest}-{field}"]
    return out
