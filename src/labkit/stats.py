"""The few statistics the course needs, on scipy: every claim about a difference comes with its interval.

- `paired_difference(baseline, candidate)`: the mean of candidate − baseline over the same items,
  with a paired bootstrap confidence interval (BCa, seeded). "Quality kept" means the interval's
  lower bound is above a margin, never that two means look alike.
- `wilson(successes, trials)`: a rate with its Wilson score interval (sound near 0 and 1, where the
  textbook ± interval is not).
- `percentile(values, q)`: a percentile (p95, say) with a distribution-free interval from order
  statistics: a tail latency measured on 20 calls is a wide range, and this says how wide.
- `mann_whitney(a, b)`: whether one sample tends to be larger than another, without assuming either
  is normal (latencies are not).

Plainly: a mean of a few dozen noisy numbers moves from run to run; the interval says how far, so
a lesson can say "at least 0.01 better" or "cannot tell" instead of quoting a bare average.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _scipy

from .errors import UsageError

__all__ = ["DEFAULT_CONFIDENCE", "Interval", "MannWhitney", "mann_whitney", "paired_difference", "percentile", "wilson"]

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 9_999


@dataclasses.dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval, and how it was made."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    n: int

    def __str__(self) -> str:
        return (f"{self.estimate:+.3f} [{self.low:+.3f}, {self.high:+.3f}] "
                f"({self.confidence:.0%} {self.method}, n={self.n})")

    def excludes(self, value: float) -> bool:
        """Whether `value` lies outside the interval (a difference of 0 excluded: a real difference)."""
        return value < self.low or value > self.high


@dataclasses.dataclass(frozen=True)
class MannWhitney:
    """Mann–Whitney U of two independent samples: `u` of the first, its two-sided `p_value`, and
    `prob_greater`, the chance that a draw from the first exceeds one from the second (ties count half)."""

    u: float
    p_value: float
    prob_greater: float
    n: tuple[int, int]


def paired_difference(baseline: Sequence[float], candidate: Sequence[float], *,
                      confidence: float = DEFAULT_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES,
                      seed: int = 0) -> Interval:
    """Mean of `candidate[i] - baseline[i]` with a paired bootstrap (BCa) interval, seeded."""
    before, after = _numbers(baseline, "baseline"), _numbers(candidate, "candidate")
    if len(before) != len(after):
        raise UsageError(f"a paired comparison needs the same items on both sides: {len(before)} baseline "
                         f"and {len(after)} candidate values")
    _confidence(confidence)
    if len(before) < 2:
        raise UsageError("a paired comparison needs at least 2 items")
    differences = after - before
    estimate = float(differences.mean())
    if np.all(differences == differences[0]):  # every pair differs alike: no spread to resample
        return Interval(estimate, estimate, estimate, confidence, "paired bootstrap", len(differences))
    result = _scipy.bootstrap((differences,), np.mean, confidence_level=confidence, n_resamples=resamples,
                              method="BCa", random_state=np.random.default_rng(seed))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):  # BCa degenerates on near-constant data
        result = _scipy.bootstrap((differences,), np.mean, confidence_level=confidence, n_resamples=resamples,
                                  method="percentile", random_state=np.random.default_rng(seed))
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return Interval(estimate, low, high, confidence, "paired bootstrap", len(differences))


def wilson(successes: int, trials: int, *, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The rate `successes / trials` with its Wilson score interval."""
    for name, value in (("successes", successes), ("trials", trials)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UsageError(f"{name} must be a count (a non-negative integer), got {value!r}")
    if trials == 0 or successes > trials:
        raise UsageError(f"a rate needs 0 <= successes <= trials and trials > 0, got {successes} of {trials}")
    _confidence(confidence)
    ci = _scipy.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(successes / trials, float(ci.low), float(ci.high), confidence, "Wilson", trials)


def percentile(values: Sequence[float], q: float, *, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """The `q`-th percentile (0-100, inclusive method, as `statistics.quantiles`) and a distribution-free
    interval: the order statistics that bracket it with at least `confidence` (binomial)."""
    data = np.sort(_numbers(values, "values"))
    if not 0 < q < 100:
        raise UsageError(f"q is a percentile strictly between 0 and 100, got {q!r}")
    _confidence(confidence)
    n = len(data)
    estimate = float(np.percentile(data, q, method="linear"))
    p = q / 100
    # Ranks j < k with P(X(j) <= true percentile <= X(k)) >= confidence, from Binomial(n, p); when n is
    # too small for that, the interval runs to the sample's edge (and says so by being that wide).
    tail = (1 - confidence) / 2
    j = int(_scipy.binom.ppf(tail, n, p))
    k = int(_scipy.binom.ppf(1 - tail, n, p)) + 1
    low = float(data[max(j - 1, 0)]) if j >= 1 else float(data[0])
    high = float(data[min(k - 1, n - 1)])
    return Interval(estimate, min(low, estimate), max(high, estimate), confidence, f"order statistics, p{q:g}", n)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> MannWhitney:
    """Mann–Whitney U test of `a` against `b` (two-sided)."""
    first, second = _numbers(a, "a"), _numbers(b, "b")
    result = _scipy.mannwhitneyu(first, second, alternative="two-sided")
    u = float(result.statistic)
    return MannWhitney(u, float(result.pvalue), u / (len(first) * len(second)), (len(first), len(second)))


def _numbers(values: Sequence[float], name: str) -> np.ndarray:
    try:
        array = np.asarray(list(values), dtype=float)
    except (TypeError, ValueError):
        raise UsageError(f"{name} must be a sequence of numbers") from None
    if array.ndim != 1 or len(array) == 0:
        raise UsageError(f"{name} must be a non-empty sequence of numbers")
    if not np.all(np.isfinite(array)):
        raise UsageError(f"{name} holds a value that is not a finite number (NaN or infinity)")
    return array


def _confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise UsageError(f"confidence is a fraction between 0 and 1 (0.95), got {confidence!r}")
