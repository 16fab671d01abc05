"""Rate limits in the simulator: token buckets per tier, 429s with the real API's retry-after, headers.

Sequential calls take their modelled time, during which buckets refill, as they would live; so a
burst that should meet a limit is sent concurrently, from a thread pool, all at one simulated instant.
"""

from __future__ import annotations

import asyncio
import datetime
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import pytest
import yaml

from labkit import backend
from labkit.errors import ConfigError
from labkit.sim import SimAPI
from labkit.sim.limits import model_class

DATA = Path(__file__).resolve().parents[1] / "data"
HAIKU = "claude-haiku-5-5"
HELLO = {"model": HAIKU, "max_tokens": 100, "messages": [{"role": "user", "content": "Say hello briefly."}]}
LONG = "Rate limits are token buckets that refill continuously at the per-minute rate. " * 100
BIG = LONG * 11  # about 20k tokens: two of them exceed tier 1's 30k input tokens per minute
HUGE = LONG * 22  # about 40k tokens: more than a whole minute of tier 1 input


def make(tier: str | None = None, max_retries: int = 0) -> tuple[SimAPI, anthropic.Anthropic]:
    api = SimAPI(seed=0, data_dir=DATA, tier=tier)
    return api, backend.client(api=api, max_retries=max_retries)


def burst(client: anthropic.Anthropic, n: int, **params: Any) -> list[Any]:
    """`n` requests at once: each outcome, a Message or the error it raised."""
    def one(_: int) -> Any:
        try:
            return client.messages.create(**{**HELLO, **params})
        except anthropic.APIError as error:
            return error

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def refusals(outcomes: list[Any]) -> list[anthropic.RateLimitError]:
    return [o for o in outcomes if isinstance(o, anthropic.RateLimitError)]


def rfc3339(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_default_tier_is_generous_and_headers_come_on_every_success() -> None:
    api, client = make()
    assert api.limits.tier.name == "tier4"
    raw = client.messages.with_raw_response.create(**HELLO)
    headers = raw.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "4000"
    assert headers["anthropic-ratelimit-requests-remaining"] == "3999"
    assert headers["anthropic-ratelimit-input-tokens-limit"] == "2000000"
    assert headers["anthropic-ratelimit-output-tokens-limit"] == "400000"
    for family in ("requests", "input-tokens", "output-tokens", "tokens"):
        for field in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{family}-{field}" in headers
    reset = rfc3339(headers["anthropic-ratelimit-requests-reset"])
    assert reset.tzinfo is not None and reset.timestamp() > api.clock.now()


def test_tokens_headers_repeat_the_most_restrictive_token_limit() -> None:
    _, client = make("tier1")
    headers = client.messages.with_raw_response.create(**{**HELLO, "max_tokens": 4000}).headers
    # 4,000 of 8,000 output tokens reserved is tighter than a few of 30,000 input tokens.
    assert headers["anthropic-ratelimit-tokens-limit"] == "8000"
    assert headers["anthropic-ratelimit-tokens-remaining"] == headers["anthropic-ratelimit-output-tokens-remaining"]


def test_tier1_refuses_the_51st_request_of_a_burst() -> None:
    _, client = make("tier1")
    outcomes = burst(client, 51)
    refused = refusals(outcomes)
    assert len(refused) == 1
    error = refused[0]
    assert error.type == "rate_limit_error" and "50 requests per minute" in error.message
    headers = error.response.headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    # The real API's advice, in whole seconds: one request refills in 60 / 50 = 1.2 s.
    assert headers["retry-after"] == str(math.ceil(60 / 50))
    assert "retry-after-ms" not in headers and not any(k.startswith("x-labkit") for k in headers)
    assert error.request_id and error.request_id.startswith("req_")


def test_sequential_requests_refill_the_bucket_as_they_go() -> None:
    """51 requests one after another take about a minute of modelled time: none is refused."""
    api, client = make("tier1")
    started = api.clock.read()
    for _ in range(51):
        client.messages.create(**HELLO)
    assert (api.clock.read() - started).modelled > 60 / 50


def test_buckets_refill_continuously_on_the_service_clock() -> None:
    api, _ = make("tier1")
    profile = api.catalog.get(HAIKU)
    now = api.clock.timestamp()
    for _ in range(50):
        api.limits.admit(profile, 10, 10, now)
    with pytest.raises(Exception) as caught:
        api.limits.admit(profile, 10, 10, now + 1.0)  # 0.83 of a request refilled: not enough
    assert getattr(caught.value, "status", None) == 429
    api.limits.admit(profile, 10, 10, now + 1.3)


def test_input_token_refusals_say_how_long_to_wait() -> None:
    _, client = make("tier1")
    refused = refusals(burst(client, 2, system=BIG))  # ~20k input tokens each of the 30k ITPM
    assert len(refused) == 1
    wait = int(refused[0].response.headers["retry-after"])
    assert wait >= 2  # thousands of tokens short at 500 tokens/s
    assert "input tokens per minute" in refused[0].message


def test_sdk_retries_after_the_advised_simulated_wait_and_succeeds() -> None:
    api, client = make("tier1", max_retries=2)
    first_started = api.clock.read()
    outcomes = burst(client, 2, system=BIG)
    assert not refusals(outcomes)  # the SDK waited out the 429 and retried
    assert all(o.usage.input_tokens > 10_000 for o in outcomes)
    # The retry cost its advised wait in modelled time, and no real time to speak of.
    assert (api.clock.read() - first_started).modelled >= 2


def test_cache_reads_do_not_count_toward_input_tokens_per_minute() -> None:
    api, client = make("tier1")
    params = {**HELLO, "system": [{"type": "text", "text": BIG, "cache_control": {"type": "ephemeral"}}]}
    first = client.messages.with_raw_response.create(**params)
    written = first.parse().usage.cache_creation_input_tokens
    assert written > 15_000
    api.clock.advance(60)  # the bucket is full again; the 5-minute entry still lives
    for _ in range(3):  # 3 x ~20k tokens would exceed 30k ITPM, were reads counted
        raw = client.messages.with_raw_response.create(**params)
        usage = raw.parse().usage
        assert usage.cache_read_input_tokens == written
    remaining = int(raw.headers["anthropic-ratelimit-input-tokens-remaining"])
    assert remaining >= 30_000 - 3 * usage.input_tokens - 1


def test_output_tokens_are_reserved_at_admission_and_settled_after() -> None:
    api, _ = make("tier1")
    profile = api.catalog.get(HAIKU)
    now = api.clock.now()
    api.limits.admit(profile, 10, 8000, now)  # reserves the whole 8,000 OTPM
    with pytest.raises(Exception) as caught:
        api.limits.admit(profile, 10, 100, now)
    assert getattr(caught.value, "status", None) == 429
    api.limits.settle(profile, 8000, 500, now)  # 7,500 unused tokens come back
    headers = api.limits.admit(profile, 10, 7000, now)
    assert headers["anthropic-ratelimit-output-tokens-remaining"] == "500"


def test_a_request_larger_than_a_minute_of_input_is_never_retried() -> None:
    api, client = make("tier1", max_retries=2)
    calls = []
    handle = api.handle
    api.handle = lambda request: calls.append(request.path) or handle(request)  # type: ignore[method-assign]
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**{**HELLO, "system": HUGE})  # ~40k tokens > 30k ITPM
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(calls) == 1


def test_model_classes_have_their_own_buckets() -> None:
    api, _ = make("tier1")
    now = api.clock.timestamp()
    for _ in range(50):
        api.limits.admit(api.catalog.get(HAIKU), 10, 10, now)
    api.limits.admit(api.catalog.get("claude-sonnet-5-5"), 10, 10, now)
    assert model_class("claude-sonnet-5-5") == "sonnet" and model_class("claude-haiku-4-5") == "haiku"


def test_set_tier_switches_and_refills() -> None:
    api, client = make()
    api.limits.set_tier("tier1")
    assert len(refusals(burst(client, 51))) == 1
    api.limits.set_tier("scale")
    headers = client.messages.with_raw_response.create(**HELLO).headers
    assert headers["anthropic-ratelimit-input-tokens-limit"] == "4000000"
    with pytest.raises(ConfigError, match="unknown rate-limit tier"):
        api.limits.set_tier("tier9")


def test_reset_refills_every_bucket() -> None:
    api, _ = make("tier1")
    profile = api.catalog.get(HAIKU)
    now = api.clock.timestamp()
    for _ in range(50):
        api.limits.admit(profile, 10, 10, now)
    api.limits.reset()
    api.limits.admit(profile, 10, 10, now)


def test_tiers_are_read_from_the_data_file() -> None:
    api, _ = make()
    assert api.catalog.tier("tier1").requests_per_minute == 50
    assert api.catalog.tier("tier4").batch_queue_requests == 500_000
    assert api.catalog.tier("start").batch_queue_requests is None  # not published


def test_async_clients_meet_the_same_limits() -> None:
    api = SimAPI(seed=0, data_dir=DATA, tier="tier1")

    async def gather() -> list[object]:
        client = backend.async_client(api=api, max_retries=0)
        return await asyncio.gather(*(client.messages.create(**HELLO) for _ in range(55)),
                                    return_exceptions=True)

    outcomes = asyncio.run(gather())
    refused = [o for o in outcomes if isinstance(o, anthropic.RateLimitError)]
    assert len(refused) == 5 and len(outcomes) - len(refused) == 50


def test_every_added_figure_names_a_known_source() -> None:
    raw = yaml.safe_load((DATA / "models.yaml").read_text(encoding="utf-8"))
    named = [tier["source"] for tier in raw["rate_limits"]["tiers"].values()]
    named += [tier["batch_source"] for tier in raw["rate_limits"]["tiers"].values() if tier["batch_queue_requests"]]
    named += [entry["source"] for entry in [*raw["batches"].values(), *raw["faults"].values()]]
    assert set(named) <= set(raw["sources"])


def test_output_reservations_hold_until_the_answer_ends(api, api_client):
    """OTPM reserves max_tokens at the start and is corrected only when the answer is complete."""
    api.limits.set_tier("tier1")  # 8,000 output tokens per minute
    ask = {"model": "claude-haiku-5-5", "max_tokens": 5000,
           "messages": [{"role": "user", "content": "Research chaos theory in 100 words."}]}
    first, second = burst(api_client, 2, **ask)
    refused = refusals([first, second])
    assert len(refused) == 1  # both arrive together: the first answer's 5,000 are still reserved
    answered = first if refused[0] is second else second
    assert answered.usage.output_tokens < 1000
    # Once that answer has ended (when `burst` returns), its unused reservation is back: refill
    # alone over its few seconds would give only a few hundred tokens, not the 2,000 still missing.
    assert api_client.messages.create(**ask).usage.output_tokens == answered.usage.output_tokens
