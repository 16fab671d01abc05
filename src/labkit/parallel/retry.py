"""When to retry a failed attempt and how long to wait first.

Retryable, as in the `anthropic` SDK's own policy: 408, 409, 429 and 5xx responses (529
`overloaded_error` included), connection errors and timeouts; an `x-should-retry` header overrides
the status either way (the simulator sends `false` for a request that could never fit a rate limit).
Not retryable: every other 4xx (a 400 stays a 400, however often it is sent) and any other exception.

How long: the server's `retry-after-ms` / `retry-after` when it sends one, exactly as the SDK reads
them. Otherwise exponential back-off, `base_delay * 2**(attempt-1)` capped at `max_delay`, shortened
by up to `jitter` (the SDK's 0.5 s, 8 s and 25%). Jitter is seeded by the configured seed, the task
and the attempt, so a rerun waits the same. The runner waits on its clock: offline, a simulated wait.
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import time
from collections.abc import Callable

import anthropic

from .. import config
from .errors import ParallelError
from .results import AttemptTimeoutError

RETRYABLE_STATUS = frozenset({408, 409, 429})
# Error types that arrive in a stream's `error` event (the response itself said 200).
RETRYABLE_TYPES = frozenset({"rate_limit_error", "overloaded_error", "api_error", "timeout_error"})


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt could succeed where this one failed (the SDK's policy, see above)."""
    if isinstance(error, anthropic.APIStatusError):
        flag = error.response.headers.get("x-should-retry")
        if flag in ("true", "false"):
            return flag == "true"
        status = error.status_code
        return (status in RETRYABLE_STATUS or status >= 500
                or getattr(error, "type", None) in RETRYABLE_TYPES)
    return isinstance(error, (anthropic.APIConnectionError, anthropic.RetryableError, AttemptTimeoutError,
                              ConnectionError))


def retry_after(error: BaseException) -> float | None:
    """The wait the server asked for, in seconds (`retry-after-ms`, else `retry-after` as seconds
    or an HTTP date), or None when the error carries no such advice."""
    headers = getattr(getattr(error, "response", None), "headers", None)
    if headers is None:
        return None
    for name, factor in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * factor
        except ValueError:
            parsed = email.utils.parsedate_tz(raw) if name == "retry-after" else None
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if seconds > 0:
            return seconds
    return None


@dataclasses.dataclass(frozen=True)
class Retry:
    """A retry policy; delays and `attempt_timeout` are seconds of the runner's clock.

    `max_attempts` counts the first attempt (1 = no retries). `attempt_timeout` abandons an attempt
    that runs too long and retries it: against a hung request this bounds the damage to one timeout
    plus one normal call, where the task's overall `timeout=` would only turn it into a failure.
    `retry_on` decides which errors are retried (default: `is_retryable`).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    attempt_timeout: float | None = None
    retry_on: Callable[[BaseException], bool] = is_retryable

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ParallelError(f"max_attempts must be a whole number ≥ 1 (1 = no retries), got {self.max_attempts!r}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ParallelError("base_delay and max_delay are seconds: they cannot be negative")
        if not 0 <= self.jitter <= 1:
            raise ParallelError(f"jitter is a fraction between 0 and 1, got {self.jitter!r}")
        if self.attempt_timeout is not None and self.attempt_timeout <= 0:
            raise ParallelError(f"attempt_timeout must be positive seconds or None, got {self.attempt_timeout!r}")

    def backoff(self, attempt: int, key: str = "") -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        delay = min(self.base_delay * 2.0 ** min(attempt - 1, 1000), self.max_delay)
        draw = random.Random(f"{config.current().seed}:{key}:{attempt}").random()
        return delay * (1 - self.jitter * draw)

    def wait(self, error: BaseException, attempt: int, key: str) -> float:
        """Seconds to wait before the next attempt: the server's advice, else `backoff`."""
        advised = retry_after(error)
        return advised if advised is not None else self.backoff(attempt, key)


NO_RETRY = Retry(max_attempts=1)
