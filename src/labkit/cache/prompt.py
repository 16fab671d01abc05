"""The server-side cache: prompt caching with `cache_control`, read from `usage` and priced.

The response cache (the rest of this package) skips a call entirely; prompt caching still makes
the call but lets the API reuse an identical prompt prefix. `usage` reports how the prompt was
split: `cache_read_input_tokens` (billed at the read multiplier, 0.1x on Haiku 5.5),
`cache_creation_input_tokens` (billed at 1.25x for the 5-minute lifetime, 2x for 1 hour) and
`input_tokens`, the uncached rest. `report()` prices that split with `labkit.cost.price` and
against the same tokens sent without caching, so a prefix that is written but never read shows up
as a loss rather than as "caching enabled".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from .. import cost


@dataclasses.dataclass(frozen=True)
class PromptCacheReport:
    """Prompt tokens by how they were billed, and dollars with and without prompt caching."""

    read: int
    written: int
    uncached: int
    output: int
    cost: cost.Cost
    cost_without_cache: cost.Cost

    @property
    def prompt_tokens(self) -> int:
        return self.read + self.written + self.uncached

    @property
    def read_share(self) -> float:
        """The share of prompt tokens read from the cache."""
        return self.read / self.prompt_tokens if self.prompt_tokens else 0.0

    @property
    def saving(self) -> float:
        """Dollars saved against sending the same tokens uncached (negative: caching cost extra)."""
        return self.cost_without_cache.total - self.cost.total

    def __add__(self, other: "PromptCacheReport") -> "PromptCacheReport":
        return PromptCacheReport(self.read + other.read, self.written + other.written,
                                 self.uncached + other.uncached, self.output + other.output,
                                 self.cost + other.cost, self.cost_without_cache + other.cost_without_cache)


def report(usage: Any, model: str | None = None) -> PromptCacheReport:
    """How one response's prompt was cached, and what that cost against no prompt caching."""
    u = usage if isinstance(usage, Mapping) else usage.model_dump()
    read = u.get("cache_read_input_tokens") or 0
    written = u.get("cache_creation_input_tokens") or 0
    uncached = u.get("input_tokens") or 0
    output = u.get("output_tokens") or 0
    plain = {"input_tokens": read + written + uncached, "output_tokens": output}
    return PromptCacheReport(read, written, uncached, output, cost.price(u, model),
                             cost.price(plain, model))


def total(usages: Iterable[Any], model: str | None = None) -> PromptCacheReport:
    """`report()` summed over many responses' usage."""
    out = PromptCacheReport(0, 0, 0, 0, cost.Cost(), cost.Cost())
    for usage in usages:
        out = out + report(usage, model)
    return out


def cached_system(text: str, ttl: str | None = None) -> list[dict[str, Any]]:
    """A system prompt as one text block carrying a `cache_control` breakpoint ("5m" default, or "1h")."""
    marker: dict[str, Any] = {"type": "ephemeral"}
    if ttl is not None:
        marker["ttl"] = ttl
    return [{"type": "text", "text": text, "cache_control": marker}]
