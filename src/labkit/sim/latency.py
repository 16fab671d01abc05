"""How long the real API would take: time to first token, then output at the model's pace.

    ttft  = profile TTFT + uncached input / prefill rate + cached input / (prefill rate x speed-up)
    total = ttft + output tokens / output tokens per second

Both parts get seeded log-normal jitter (sigma 0.15), so repeated identical requests have the same
latency while a workload of different requests shows a realistic spread (p95 > p50). Figures and
their sources are in `data/models.yaml`.
"""

from __future__ import annotations

import dataclasses
import random

from ..models import ModelProfile

JITTER_SIGMA = 0.15


@dataclasses.dataclass(frozen=True)
class Timeline:
    ttft: float
    total: float

    def at_token(self, produced: int, of: int) -> float:
        """When the `produced`-th of `of` output tokens is out (linear between TTFT and total)."""
        if of <= 0:
            return self.total
        return self.ttft + (self.total - self.ttft) * produced / of


def timeline(profile: ModelProfile, uncached_tokens: int, cached_tokens: int, output_tokens: int,
             rng: random.Random) -> Timeline:
    lat = profile.latency
    prefill = uncached_tokens / lat.prefill_tokens_per_s
    prefill += cached_tokens / (lat.prefill_tokens_per_s * profile.cached_prefill_speedup)
    ttft = (lat.ttft_s + prefill) * rng.lognormvariate(0, JITTER_SIGMA)
    generation = output_tokens / lat.output_tokens_per_s * rng.lognormvariate(0, JITTER_SIGMA)
    return Timeline(ttft=ttft, total=ttft + generation)
