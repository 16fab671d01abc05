"""Rate limits: token buckets for requests, input tokens and output tokens.

Placeholder until rate limits are modelled: every request is admitted.
"""

from __future__ import annotations

from ..models import ModelProfile


class RateLimiter:
    def admit(self, profile: ModelProfile, input_tokens: int, max_tokens: int, now: float) -> dict[str, str]:
        """Admit a request or raise APIError(429); returns the `anthropic-ratelimit-*` headers."""
        return {}

    def settle(self, profile: ModelProfile, reserved_output: int, actual_output: int, now: float) -> None:
        """Give back the output tokens reserved at admission but not produced."""
