"""`labkit.cost.price` against figures computed by hand from the table in data/models.yaml."""

from __future__ import annotations

import anthropic.types
import pytest

from labkit import cost, models
from labkit.errors import UsageError

M = 1_000_000
K100 = 100_000  # Haiku 5.5's band starts above this prompt size: its base rates need requests up to it


def usage(input_tokens: int = 0, output: int = 0, read: int = 0, write_5m: int = 0,
          write_1h: int = 0) -> dict:
    return {"input_tokens": input_tokens, "output_tokens": output, "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write_5m + write_1h,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h}}


@pytest.mark.parametrize(("model", "tokens", "expected"), [
    ("claude-haiku-5-5", usage(input_tokens=K100), 0.01),  # $0.10 / MTok input
    ("claude-haiku-5-5", usage(input_tokens=M), 0.50),  # a 1M-token prompt is in the >100k band
    ("claude-haiku-5-5", usage(output=M), 0.50),
    ("claude-sonnet-5-5", usage(input_tokens=M, output=M), 12.00),  # $2 + $10
    ("claude-opus-5-5", usage(input_tokens=M, output=M), 24.00),  # $4 + $20
    ("claude-sonnet-4-6", usage(input_tokens=200_000), 0.60),  # $3 x 0.2, no long-context band
    ("claude-haiku-4-5", usage(output=100_000), 0.50),  # $5 x 0.1
])
def test_base_prices(model: str, tokens: dict, expected: float) -> None:
    assert cost.price(tokens, model).total == pytest.approx(expected)


@pytest.mark.parametrize(("model", "tokens", "expected"), [
    ("claude-haiku-5-5", usage(write_5m=K100), 0.0125),  # 5-minute write: 1.25 x $0.10 / MTok
    ("claude-haiku-5-5", usage(write_1h=K100), 0.02),  # 1-hour write: 2 x $0.10 / MTok
    ("claude-haiku-5-5", usage(read=K100), 0.001),  # read: 0.1 x $0.10 / MTok
    ("claude-sonnet-5-5", usage(read=M), 0.10),  # read: 0.05 x $2 since 2026-10-07
    ("claude-sonnet-5-5", usage(write_5m=M), 2.50),
    ("claude-sonnet-5-5", usage(write_1h=M), 4.00),
    ("claude-opus-5-5", usage(read=M), 0.20),  # read: 0.05 x $4
    ("claude-haiku-4-5", usage(read=M), 0.10),  # read: 0.1 x $1
])
def test_cache_multipliers(model: str, tokens: dict, expected: float) -> None:
    assert cost.price(tokens, model).total == pytest.approx(expected)


def test_cost_parts_add_up() -> None:
    price = cost.price(usage(input_tokens=1000, output=500, read=20_000, write_5m=4000), "claude-sonnet-5-5")
    assert price.input == pytest.approx(1000 * 2.00 / M)
    assert price.cache_read == pytest.approx(20_000 * 0.10 / M)
    assert price.cache_write == pytest.approx(4000 * 2.50 / M)
    assert price.output == pytest.approx(500 * 10.00 / M)
    assert price.total == pytest.approx(0.002 + 0.002 + 0.01 + 0.005)
    assert (price + price).total == pytest.approx(2 * price.total)


def test_batch_discount_halves_every_part() -> None:
    tokens = usage(input_tokens=M, output=M, read=M, write_1h=M)
    standard = cost.price(tokens, "claude-sonnet-5-5")
    batch = cost.price(tokens, "claude-sonnet-5-5", batch=True)
    assert batch.total == pytest.approx(standard.total / 2)
    assert batch.total == pytest.approx((2 + 10 + 0.10 + 4) / 2)


def test_haiku_5_5_long_context_band_prices_the_whole_request() -> None:
    at_threshold = cost.price(usage(input_tokens=100_000, output=1000), "claude-haiku-5-5")
    assert at_threshold.total == pytest.approx(100_000 * 0.10 / M + 1000 * 0.50 / M)
    above = cost.price(usage(input_tokens=100_001, output=1000), "claude-haiku-5-5")
    assert above.total == pytest.approx(100_001 * 0.50 / M + 1000 * 2.50 / M)


def test_long_context_band_counts_cache_reads_and_writes() -> None:
    # 50k uncached + 40k read + 20k written = 110k > 100k: every part at the band's $0.50 / $2.50
    price = cost.price(usage(input_tokens=50_000, read=40_000, write_5m=20_000, output=2000), "claude-haiku-5-5")
    assert price.input == pytest.approx(50_000 * 0.50 / M)
    assert price.cache_read == pytest.approx(40_000 * 0.1 * 0.50 / M)
    assert price.cache_write == pytest.approx(20_000 * 1.25 * 0.50 / M)
    assert price.output == pytest.approx(2000 * 2.50 / M)


def test_band_and_batch_stack() -> None:
    price = cost.price(usage(input_tokens=200_000), "claude-haiku-5-5", batch=True)
    assert price.total == pytest.approx(200_000 * 0.50 / M / 2)


def test_sdk_usage_object_is_priced_like_a_dict() -> None:
    sdk_usage = anthropic.types.Usage(input_tokens=1000, output_tokens=200, cache_read_input_tokens=5000,
                                      cache_creation_input_tokens=3000,
                                      cache_creation={"ephemeral_5m_input_tokens": 1000,
                                                      "ephemeral_1h_input_tokens": 2000})
    as_dict = usage(input_tokens=1000, output=200, read=5000, write_5m=1000, write_1h=2000)
    assert cost.price(sdk_usage, "claude-sonnet-5-5") == cost.price(as_dict, "claude-sonnet-5-5")


def test_writes_without_a_ttl_split_are_5_minute_writes() -> None:
    tokens = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": M}
    assert cost.price(tokens, "claude-sonnet-5-5").total == pytest.approx(2.50)


def test_rejects_what_is_not_usage() -> None:
    with pytest.raises(TypeError):
        cost.price(42, "claude-haiku-5-5")


def test_a_typod_usage_key_is_an_error_not_zero_dollars() -> None:
    with pytest.raises(UsageError, match="'input_token'"):
        cost.price({"input_token": M, "output_tokens": 0}, "claude-haiku-5-5")


def test_batch_results_are_priced_at_the_batch_discount_by_their_service_tier() -> None:
    tokens = {"input_tokens": M, "output_tokens": M}
    assert cost.price({**tokens, "service_tier": "batch"}, "claude-sonnet-5-5") == \
        cost.price(tokens, "claude-sonnet-5-5", batch=True)


def test_fast_mode_uses_the_published_multiplier_and_refuses_to_guess_one() -> None:
    tokens = {"input_tokens": M, "output_tokens": M}
    fast = models.profile("claude-opus-5").fast_mode
    assert fast is not None and fast.price_multiplier is not None
    assert cost.price({**tokens, "speed": "fast"}, "claude-opus-5").total == \
        pytest.approx(cost.price(tokens, "claude-opus-5").total * fast.price_multiplier)
    with pytest.raises(UsageError, match="no fast-mode price"):
        cost.price({**tokens, "speed": "fast"}, "claude-opus-4-8")
