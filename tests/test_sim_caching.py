"""Prompt caching in the simulator, driven through the real `anthropic` SDK (sync and async)."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from pathlib import Path
from typing import Any

import anthropic
import pytest

from labkit.backend import SIM_API_KEY, SIM_BASE_URL
from labkit.sim import AsyncSimTransport, SimAPI, SimTransport
from labkit.sim.counting import request_tokens
from labkit.sim.wire import SimRequest

DATA = Path(__file__).resolve().parents[1] / "data"
HAIKU = "claude-haiku-5-5"
SONNET = "claude-sonnet-5-5"
# About 2,000 tokens: above every 5.5 model's minimum cacheable prefix (1,024).
LONG = "Prompt caching stores the exact prefix of a request so that the next one can reuse it. " * 110
EPHEMERAL = {"type": "ephemeral"}


def system_cached(text: str = LONG, ttl: str | None = None, model: str = HAIKU, question: str = "Summarize it.",
                  **extra: Any) -> dict[str, Any]:
    marker = {**EPHEMERAL, **({"ttl": ttl} if ttl else {})}
    return {"model": model, "max_tokens": 200, "system": [{"type": "text", "text": text, "cache_control": marker}],
            "messages": [{"role": "user", "content": question}], **extra}


def totals_agree(api: SimAPI, params: dict, usage: anthropic.types.Usage) -> bool:
    ratio = api.catalog.get(params["model"]).tokenizer_ratio
    counted = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    return counted == request_tokens(params, ratio)


def test_first_request_writes_and_the_next_reads(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    params = system_cached()
    first = api_client.messages.create(**params).usage
    second = api_client.messages.create(**params).usage
    assert first.cache_creation_input_tokens > 1024 and first.cache_read_input_tokens == 0
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens  # only the uncached tail
    assert totals_agree(api, params, first) and totals_agree(api, params, second)


def test_async_client_shares_the_same_cache(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    params = system_cached()
    written = api_client.messages.create(**params).usage.cache_creation_input_tokens

    async def read_twice() -> list[int]:
        aclient = anthropic.AsyncAnthropic(
            api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
            http_client=anthropic.DefaultAsyncHttpxClient(transport=AsyncSimTransport(api)))
        replies = await asyncio.gather(*(aclient.messages.create(**params) for _ in range(2)))
        return [r.usage.cache_read_input_tokens for r in replies]

    assert asyncio.run(read_twice()) == [written, written]


def test_below_the_minimum_nothing_is_cached_and_nothing_fails(api_client: anthropic.Anthropic) -> None:
    params = system_cached(text="A short system prompt.")
    for _ in range(2):
        usage = api_client.messages.create(**params).usage
        assert usage.cache_creation_input_tokens == 0 and usage.cache_read_input_tokens == 0


def test_minimum_is_configurable_per_simulator() -> None:
    api = SimAPI(seed=0, data_dir=DATA, min_cacheable_tokens=5)
    api_client = anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                 http_client=anthropic.DefaultHttpxClient(transport=SimTransport(api)))
    params = system_cached(text="A short system prompt, cached all the same.")
    assert api_client.messages.create(**params).usage.cache_creation_input_tokens > 0
    assert api_client.messages.create(**params).usage.cache_read_input_tokens > 0
    api.prompt_cache.set_min_tokens(10_000)
    assert api_client.messages.create(**system_cached()).usage.cache_creation_input_tokens == 0


def test_another_model_never_hits(api_client: anthropic.Anthropic) -> None:
    api_client.messages.create(**system_cached(model=HAIKU))
    usage = api_client.messages.create(**system_cached(model=SONNET)).usage
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation_input_tokens > 0


def test_prefix_match_is_byte_exact(api_client: anthropic.Anthropic) -> None:
    api_client.messages.create(**system_cached())
    usage = api_client.messages.create(**system_cached(text=LONG + " ")).usage
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation_input_tokens > 0


def test_five_minute_entries_expire_and_hits_refresh_them(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    params = system_cached()
    api_client.messages.create(**params)
    api.clock.advance(240)
    assert api_client.messages.create(**params).usage.cache_read_input_tokens > 0  # refreshed at 240 s
    api.clock.advance(240)  # 480 s after the write, 240 s after the hit
    assert api_client.messages.create(**params).usage.cache_read_input_tokens > 0
    api.clock.advance(301)
    usage = api_client.messages.create(**params).usage
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation.ephemeral_5m_input_tokens > 0


def test_one_hour_entries_outlive_five_minutes(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    params = system_cached(ttl="1h")
    first = api_client.messages.create(**params).usage
    assert first.cache_creation.ephemeral_1h_input_tokens == first.cache_creation_input_tokens > 0
    api.clock.advance(50 * 60)
    assert api_client.messages.create(**params).usage.cache_read_input_tokens > 0
    api.clock.advance(3601)
    assert api_client.messages.create(**params).usage.cache_read_input_tokens == 0


def test_mixed_lifetimes_split_the_write(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    params = system_cached(ttl="1h")
    params["messages"] = [{"role": "user", "content": [
        {"type": "text", "text": LONG, "cache_control": EPHEMERAL},
        {"type": "text", "text": "Summarize both."}]}]
    usage = api_client.messages.create(**params).usage
    assert usage.cache_creation.ephemeral_1h_input_tokens > 0
    assert usage.cache_creation.ephemeral_5m_input_tokens > 0
    assert totals_agree(api, params, usage)


def test_more_than_four_breakpoints_is_a_400(api_client: anthropic.Anthropic) -> None:
    blocks = [{"type": "text", "text": f"Part {i}. {LONG}", "cache_control": EPHEMERAL} for i in range(5)]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4 blocks with cache_control"):
        api_client.messages.create(model=HAIKU, max_tokens=50, system=blocks,
                               messages=[{"role": "user", "content": "Hi"}])


def test_automatic_caching_counts_as_a_breakpoint(api_client: anthropic.Anthropic) -> None:
    blocks = [{"type": "text", "text": f"Part {i}. {LONG}", "cache_control": EPHEMERAL} for i in range(4)]
    with pytest.raises(anthropic.BadRequestError):
        api_client.messages.create(model=HAIKU, max_tokens=50, system=blocks, cache_control=EPHEMERAL,
                               messages=[{"role": "user", "content": "Hi"}])


def test_a_malformed_ttl_is_a_400(api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="ttl"):
        api_client.messages.create(**system_cached(ttl="2h"))


def conversation(turns: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": LONG + " What is prompt caching?"}]
    for i in range(turns):
        messages += [{"role": "assistant", "content": f"Answer number {i} about caching."},
                     {"role": "user", "content": f"Follow-up question {i}?"}]
    return messages


def test_automatic_caching_moves_forward_with_the_conversation(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    first_params = {"model": HAIKU, "max_tokens": 100, "cache_control": EPHEMERAL, "messages": conversation(0)}
    first = api_client.messages.create(**first_params).usage
    second_params = {**first_params, "messages": conversation(1)}
    second = api_client.messages.create(**second_params).usage
    assert first.cache_creation_input_tokens > 0 and first.input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens  # found by the lookback
    assert second.cache_creation_input_tokens > 0  # the new turns, up to the new last block
    assert totals_agree(api, second_params, second)


def test_lookback_reaches_only_20_blocks(api_client: anthropic.Anthropic) -> None:
    prefix = [{"type": "text", "text": LONG}]
    later = [{"type": "text", "text": f"Note {i}."} for i in range(21)]
    base = {"model": HAIKU, "max_tokens": 50, "cache_control": EPHEMERAL}
    api_client.messages.create(**base, messages=[{"role": "user", "content": prefix}])
    near = api_client.messages.create(**base, messages=[{"role": "user", "content": prefix + later[:20]}]).usage
    assert near.cache_read_input_tokens > 0
    # A fresh prefix: the 21-blocks-later breakpoint cannot see the entry at block 0.
    far_prefix = [{"type": "text", "text": "Another document. " + LONG}]
    api_client.messages.create(**base, messages=[{"role": "user", "content": far_prefix}])
    far = api_client.messages.create(**base, messages=[{"role": "user", "content": far_prefix + later}]).usage
    assert far.cache_read_input_tokens == 0


def tool(name: str) -> dict[str, Any]:
    return {"name": name, "description": f"{name}: {LONG}",
            "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}}


def test_invalidation_is_tiered(api_client: anthropic.Anthropic) -> None:
    tools = [tool("search"), {**tool("fetch"), "cache_control": EPHEMERAL}]
    base = {"model": HAIKU, "max_tokens": 50, "tools": tools,
            "system": [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}]}]}
    full = api_client.messages.create(**base).usage.cache_creation_input_tokens
    tools_only = api_client.messages.create(**{**base, "system": [{"type": "text", "text": "Changed. " + LONG,
                                                                "cache_control": EPHEMERAL}]}).usage
    assert 0 < tools_only.cache_read_input_tokens < full  # tools survive a system change
    choice = api_client.messages.create(**{**base, "tool_choice": {"type": "any"}}).usage
    assert tools_only.cache_read_input_tokens < choice.cache_read_input_tokens < full  # tools + system
    changed_tools = api_client.messages.create(**{**base, "tools": [tool("lookup"), tools[1]]}).usage
    assert changed_tools.cache_read_input_tokens == 0


def test_moving_a_breakpoint_later_still_reads_the_earlier_entry(api_client: anthropic.Anthropic) -> None:
    first = system_cached()
    api_client.messages.create(**first)
    later = copy.deepcopy(first)
    del later["system"][0]["cache_control"]
    later["messages"] = [{"role": "user", "content": [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}]}]
    usage = api_client.messages.create(**later).usage
    assert usage.cache_read_input_tokens > 0 and usage.cache_creation_input_tokens > 0


def test_max_tokens_zero_prewarms_the_cache(api_client: anthropic.Anthropic) -> None:
    warm = api_client.messages.create(**{**system_cached(), "max_tokens": 0})
    assert warm.usage.cache_creation_input_tokens > 0
    assert api_client.messages.create(**system_cached()).usage.cache_read_input_tokens > 0


def test_streamed_usage_reports_the_cache(api_client: anthropic.Anthropic) -> None:
    params = system_cached()
    api_client.messages.create(**params)
    with api_client.messages.stream(**params) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens > 0


def test_concurrent_identical_requests_write_once(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    params = system_cached()
    written: list[int] = []

    def call() -> None:
        written.append(api_client.messages.create(**params).usage.cache_creation_input_tokens)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(written)[:-1] == [0] * 11 and written.count(0) == 11


def test_cached_input_is_faster(api: SimAPI) -> None:
    params = system_cached(text=LONG * 20)  # ~40k tokens, so prefill dominates the time to answer

    def latency() -> float:
        request = SimRequest("POST", "/v1/messages", {"x-api-key": SIM_API_KEY, "anthropic-version": "2023-06-01",
                                                      "content-type": "application/json"},
                             json.dumps(params).encode())
        response = api.handle(request)
        assert response.status == 200, response.body
        return response.latency

    cold, warm = latency(), latency()
    assert warm < cold * 0.8


def test_clear_empties_the_cache(api: SimAPI, api_client: anthropic.Anthropic) -> None:
    api_client.messages.create(**system_cached())
    api.prompt_cache.clear()
    assert api_client.messages.create(**system_cached()).usage.cache_read_input_tokens == 0
