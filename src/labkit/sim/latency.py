"""How long the real API would take: time to first token, then output at the model's pace.

    ttft  = profile TTFT + uncached input / prefill rate + cached input / (prefill rate x speed-up)
    total = ttft + output tokens / (output tokens per second x fast-mode speed-up)

Output tokens include thinking tokens, which the model generates at its output speed before any
text: thinking lengthens a response (and delays its first text) in proportion to what it thinks.
Both parts get log-normal jitter (sigma 0.15) drawn from the request's digest, so repeated identical
requests have the same latency while a workload of different requests shows a realistic spread
(p95 > p50). Figures and their sources are in `data/models.yaml`.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

from ..models import ModelProfile

JITTER_SIGMA = 0.15
_NORMAL = statistics.NormalDist()


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
             digest: str, *, output_speedup: float = 1.0) -> Timeline:
    """The modelled timeline of one response; `digest` (hex, 16+ characters) identifies the request;
    `output_speedup`: fast mode's gain, on output only ("the gain is in OTPS, not TTFT")."""
    lat = profile.latency
    prefill = uncached_tokens / lat.prefill_tokens_per_s
    prefill += cached_tokens / (lat.prefill_tokens_per_s * profile.cached_prefill_speedup)
    first, second = _jitter(digest)
    ttft = (lat.ttft_s + prefill) * first
    return Timeline(ttft=ttft, total=ttft + output_tokens / (lat.output_tokens_per_s * output_speedup) * second)


def _jitter(digest: str) -> tuple[float, float]:
    """Two log-normal factors from the digest's first 16 hex digits (two uniforms through the normal
    quantile): as seeded as a generator would be, without the cost of seeding one per request."""
    uniforms = ((int(digest[i:i + 8], 16) + 0.5) / 2**32 for i in (0, 8))
    first, second = (math.exp(JITTER_SIGMA * _NORMAL.inv_cdf(u)) for u in uniforms)
    return first, second
