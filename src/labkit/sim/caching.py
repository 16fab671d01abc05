"""Prompt caching: which prefix tokens of a request are read from, or written to, the cache.

Placeholder until prompt caching is modelled: every request is uncached.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..models import ModelProfile


@dataclasses.dataclass(frozen=True)
class CacheUsage:
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def written(self) -> int:
        return self.write_5m + self.write_1h


class PromptCache:
    def account(self, profile: ModelProfile, params: dict[str, Any], now: float) -> CacheUsage:
        """Look the request's cacheable prefixes up at simulated time `now`; store what is written."""
        return CacheUsage()
