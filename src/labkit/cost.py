"""Dollars from `usage`: base prices, cache write and read multipliers, long-context bands, batch
discount, fast mode.

Prices come from `data/models.yaml`, each with its source; this module only does the arithmetic, so
that a lesson's cost figure is always `usage` x published price.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from . import models
from .errors import UsageError

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


# The fields of the API's `usage` (SDK `Usage`): any other key is a typo that would be priced at $0.
USAGE_FIELDS = frozenset({"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                          "cache_creation", "output_tokens_details", "server_tool_use", "service_tier", "speed",
                          "inference_geo"})


def price(usage: Any, model: str | None = None, *, batch: bool = False) -> Cost:
    """The cost of one response's `usage` (an SDK `Usage` or a dict) on `model`.

    `batch=True`, or the `service_tier: "batch"` that batch results carry, applies the batch
    discount; `speed: "fast"` the model's fast-mode price multiplier, and a UsageError where no
    fast-mode price is published (pricing it as standard would be silently wrong)."""
    u = _as_dict(usage)
    unknown = sorted(set(u) - USAGE_FIELDS)
    if unknown:
        raise UsageError(f"usage has unknown field(s) {', '.join(map(repr, unknown))}: expected fields of the "
                         f"API's usage ({', '.join(sorted(USAGE_FIELDS))})")
    profile = models.profile(model)
    batch = batch or u.get("service_tier") == "batch"
    speed = 1.0
    if u.get("speed") == "fast":
        fast = profile.fast_mode
        if fast is None or fast.price_multiplier is None:
            raise UsageError(f"no fast-mode price is published for {profile.id} (data/models.yaml): "
                             "this usage cannot be priced")
        speed = fast.price_multiplier
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
    scale = (profile.batch_discount if batch else 1.0) * speed / PER_MILLION
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
