"""Dollars from `usage`: base prices, cache write and read multipliers, long-context bands, batch discount.

Prices come from `data/models.yaml`, each with its source; this module only does the arithmetic, so
that a lesson's cost figure is always `usage` x published price.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from . import models

PER_MILLION = 1_000_000


@dataclasses.dataclass(frozen=True)
class Cost:
    """A request's cost in USD, split by what was paid for."""

    input: float = 0.0
    cache_write: float = 0.0
    cache_read: float = 0.0
    output: float = 0.0

    @property
    def total(self) -> float:
        return self.input + self.cache_write + self.cache_read + self.output

    def __float__(self) -> float:
        return self.total

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))

    def __str__(self) -> str:
        return f"${self.total:.6f}"


def price(usage: Any, model: str | None = None, *, batch: bool = False) -> Cost:
    """The cost of one response's `usage` (an SDK `Usage` or a dict) on `model`."""
    u = _as_dict(usage)
    profile = models.profile(model)
    uncached = u.get("input_tokens") or 0
    read = u.get("cache_read_input_tokens") or 0
    written = u.get("cache_creation_input_tokens") or 0
    split = _as_dict(u.get("cache_creation") or {})
    written_1h = split.get("ephemeral_1h_input_tokens") or 0
    written_5m = split.get("ephemeral_5m_input_tokens", written - written_1h) or 0
    rates = profile.prices
    band = profile.long_context_prices
    if band and uncached + read + written > (band.threshold_tokens or 0):
        rates = band
    scale = (profile.batch_discount if batch else 1.0) / PER_MILLION
    return Cost(
        input=uncached * rates.input * scale,
        cache_write=(written_5m * profile.cache_write_5m_multiplier
                     + written_1h * profile.cache_write_1h_multiplier) * rates.input * scale,
        cache_read=read * profile.cache_read_multiplier * rates.input * scale,
        output=(u.get("output_tokens") or 0) * rates.output * scale,
    )


def _as_dict(obj: Any) -> Mapping[str, Any]:
    if isinstance(obj, Mapping):
        return obj
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    raise TypeError(f"expected a usage object or dict, got {type(obj).__name__}")
