"""labkit.stats: intervals that cover what they claim, are seeded, and refuse bad input."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from labkit import stats
from labkit.errors import UsageError


def test_wilson_matches_its_formula() -> None:
    k, n, z = 17, 40, statistics.NormalDist().inv_cdf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    interval = stats.wilson(k, n)
    assert interval.estimate == p
    assert interval.low == pytest.approx(centre - half) and interval.high == pytest.approx(centre + half)


def test_wilson_stays_inside_zero_and_one_at_the_edges() -> None:
    none, every = stats.wilson(0, 20), stats.wilson(20, 20)
    assert none.low == 0 and 0 < none.high < 0.2
    assert every.high == pytest.approx(1) and 0.8 < every.low < 1


def test_a_paired_difference_is_seeded_and_sees_a_small_consistent_gain() -> None:
    rng = random.Random(1)
    baseline = [rng.uniform(0.6, 0.9) for _ in range(40)]
    candidate = [b + 0.02 + rng.uniform(-0.005, 0.005) for b in baseline]  # every item a little better
    interval = stats.paired_difference(baseline, candidate)
    assert interval == stats.paired_difference(baseline, candidate)  # the same seed, the same interval
    assert 0.015 < interval.low < interval.estimate < interval.high < 0.025
    assert interval.excludes(0.0) and "paired bootstrap, n=40" in str(interval)
    # Unpaired, the same gain hides in the spread between items: the pairing is what makes it visible.
    shuffled = candidate[1:] + candidate[:1]
    assert not stats.paired_difference(baseline, shuffled).excludes(0.0)


def test_a_paired_difference_with_no_spread_is_exact() -> None:
    interval = stats.paired_difference([0.5, 0.7, 0.9], [0.5, 0.7, 0.9])
    assert (interval.low, interval.estimate, interval.high) == (0.0, 0.0, 0.0)


def test_a_percentile_interval_brackets_the_estimate_and_narrows_with_more_data() -> None:
    rng = random.Random(2)
    few = [rng.lognormvariate(0, 0.5) for _ in range(20)]
    many = [rng.lognormvariate(0, 0.5) for _ in range(2000)]
    small, large = stats.percentile(few, 95), stats.percentile(many, 95)
    assert small.low <= small.estimate <= small.high and large.low <= large.estimate <= large.high
    assert (large.high - large.low) < (small.high - small.low)
    assert large.estimate == pytest.approx(statistics.quantiles(many, n=100, method="inclusive")[94])
    true_p95 = math.exp(0.5 * statistics.NormalDist().inv_cdf(0.95))
    assert large.low < true_p95 < large.high


def test_mann_whitney_tells_a_shifted_sample_from_noise() -> None:
    rng = random.Random(3)
    fast = [rng.gauss(1.0, 0.2) for _ in range(30)]
    slow = [rng.gauss(1.5, 0.2) for _ in range(30)]
    result = stats.mann_whitney(slow, fast)
    assert result.p_value < 1e-6 and result.prob_greater > 0.9 and result.n == (30, 30)
    assert stats.mann_whitney(fast[:15], fast[15:]).p_value > 0.01


@pytest.mark.parametrize("call, message", [
    (lambda: stats.paired_difference([1, 2], [1]), "same items"),
    (lambda: stats.paired_difference([1], [1]), "at least 2"),
    (lambda: stats.paired_difference([1, float("nan")], [1, 2]), "not a finite number"),
    (lambda: stats.paired_difference(["a"], ["b"]), "sequence of numbers"),
    (lambda: stats.paired_difference([1, 2], [1, 2], confidence=95), "fraction between 0 and 1"),
    (lambda: stats.wilson(5, 3), "successes <= trials"),
    (lambda: stats.wilson(1.5, 3), "count"),
    (lambda: stats.percentile([1, 2, 3], 0.95 * 100 + 10), "strictly between 0 and 100"),
    (lambda: stats.percentile([], 50), "non-empty"),
])
def test_bad_input_is_a_clear_error(call, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call()
