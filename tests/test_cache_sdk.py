"""The drop-in SDK wrapper (`labkit.cache.wrap`) against the simulator, and prompt-caching reports."""

from __future__ import annotations

import asyncio
from pathlib import Path

import anthropic
import pytest
from anthropic.types import Message

from labkit import cost
from labkit.backend import SIM_API_KEY, SIM_BASE_URL
from labkit.cache import Cache, ManualClock, parse_config, uncacheable, wrap
from labkit.cache import prompt
from labkit.cache.sdk import request_key
from labkit.sim import AsyncSimTransport, SimAPI, SimTransport

DATA = Path(__file__).resolve().parents[1] / "data"
HAIKU = "claude-haiku-5-5"
PARAMS = {"model": HAIKU, "max_tokens": 120,
          "messages": [{"role": "user", "content": "Research the observer effect for our podcast."}]}
LONG = "Prompt caching stores the exact prefix of a request so that the next one can reuse it. " * 110


@pytest.fixture
def api() -> SimAPI:
    return SimAPI(seed=0, data_dir=DATA)


@pytest.fixture
def client(api: SimAPI) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
                               http_client=anthropic.DefaultHttpxClient(transport=SimTransport(api)))


@pytest.fixture
def store(tmp_path):
    cache = Cache(tmp_path / "c.db", DATA / "cache_config.yml", clock=ManualClock(1e6))
    yield cache
    cache.close()


def test_a_hit_returns_an_equal_message(client, store):
    cached = wrap(client, store, scope="test")
    first = cached.messages.create_traced(**PARAMS)
    second = cached.messages.create_traced(**PARAMS)
    assert (first.source, second.source) == ("api", "memory")
    assert isinstance(second.message, Message) and second.message == first.message
    assert second.message is not first.message  # a fresh object each time: mutating one is harmless
    assert cached.messages.create(**PARAMS) == first.message
    assert cached.messages.sources == {"api": 1, "memory": 2}


def test_a_restarted_process_is_answered_from_disk(client, store, tmp_path):
    first = wrap(client, store, scope="test").messages.create(**PARAMS)
    store.close()
    again = Cache(tmp_path / "c.db", DATA / "cache_config.yml", clock=ManualClock(1e6))
    traced = wrap(client, again, scope="test").messages.create_traced(**dict(reversed(PARAMS.items())))
    assert traced.source == "disk" and traced.message == first
    again.close()


def test_entries_expire_with_the_namespace_ttl(client, tmp_path):
    clock = ManualClock(0)
    cache = Cache(tmp_path / "c.db", DATA / "cache_config.yml", clock=clock)
    cached = wrap(client, cache, scope="test")
    cached.messages.create(**PARAMS)
    clock.advance(3599)
    assert cached.messages.create_traced(**PARAMS).hit
    clock.advance(1)  # api_responses: ttl 3600
    assert cached.messages.create_traced(**PARAMS).source == "api"
    cache.close()


def test_errors_are_raised_and_never_cached(client, store, api):
    cached = wrap(client, store, scope="test")
    api.faults.fail_next(1, "overloaded")
    with pytest.raises(anthropic.APIStatusError):
        cached.messages.create(**PARAMS)
    assert store["api_responses"].disk.usage() == {}
    assert cached.messages.create_traced(**PARAMS).source == "api"  # the retry reaches the API
    assert cached.messages.create_traced(**PARAMS).source == "memory"


@pytest.mark.parametrize(("extra", "reason"), [
    ({"stream": True}, "stream"),
    ({"max_tokens": 0}, "pre-warms"),
    ({"extra_body": {"temperature": 0.7}}, "temperature"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "server tool"),
])
def test_requests_that_must_not_be_frozen_pass_through(extra, reason):
    assert reason in uncacheable({**PARAMS, **extra})


def test_cacheable_requests(client):
    assert uncacheable(PARAMS) is None
    assert uncacheable({**PARAMS, "extra_body": {"temperature": 0}}) is None
    assert uncacheable({**PARAMS, "tools": [{"name": "lookup", "input_schema": {"type": "object"}}]}) is None


def test_a_stream_is_passed_through_uncached(client, store):
    cached = wrap(client, store, scope="test")
    traced = cached.messages.create_traced(**PARAMS, stream=True)
    assert traced.source == "bypass" and "stream" in traced.reason
    list(traced.message)  # the SDK's own Stream
    assert store.disk.usage() == {}


def test_incomplete_answers_are_not_stored(store):
    message = Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": HAIKU, "content": [],
        "stop_reason": "refusal", "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 0}})

    class Refuser:
        base_url = "http://example.invalid"

        class messages:  # noqa: N801 - stands in for client.messages
            @staticmethod
            def create(**params):
                return message

    cached = wrap(Refuser(), store)
    assert cached.messages.create_traced(**PARAMS).source == "api"
    assert cached.messages.create_traced(**PARAMS).source == "api"  # not stored


def test_keys_ignore_order_transport_options_and_secret_headers():
    base = request_key(PARAMS, "s")
    assert request_key(dict(reversed(PARAMS.items())), "s") == base
    assert request_key({**PARAMS, "timeout": 5, "extra_headers": {"x-api-key": "sk-secret"}}, "s") == base
    assert request_key({**PARAMS, "extra_headers": {"anthropic-beta": "x"}}, "s") != base
    assert request_key({**PARAMS, "system": anthropic.omit}, "s") == base
    assert request_key({**PARAMS, "max_tokens": 121}, "s") != base
    assert request_key(PARAMS, "other scope") != base


def test_sdk_objects_in_a_request_are_keyed_by_their_content(client, store):
    cached = wrap(client, store, scope="test")
    answer = cached.messages.create(**PARAMS)
    follow_up = {**PARAMS, "messages": [*PARAMS["messages"], {"role": "assistant", "content": answer.content},
                                        {"role": "user", "content": "Now shorter."}]}
    assert cached.messages.create_traced(**follow_up).source == "api"
    assert cached.messages.create_traced(**follow_up).source == "memory"


def test_nothing_secret_is_stored(client, store, tmp_path):
    cached = wrap(client, store, scope="test")
    cached.messages.create(**PARAMS, extra_headers={"x-custom-secret": "hunter2"})
    store.close()
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("c.db"))
    for secret in (SIM_API_KEY.encode(), b"hunter2", b"x-api-key", b"x-custom-secret"):
        assert secret not in blob


def test_the_default_scope_keeps_seeds_and_backends_apart(client, monkeypatch):
    from labkit import config

    monkeypatch.setattr(config, "_current", None)  # restored after the test
    config.configure(backend="sim", seed=0)
    zero = wrap(client, Cache()).messages.scope
    config.configure(backend="sim", seed=1)
    one = wrap(client, Cache()).messages.scope
    assert zero != one and zero.startswith(SIM_BASE_URL)
    live_like = anthropic.Anthropic(api_key="k", base_url="https://api.anthropic.com")
    assert wrap(live_like, Cache()).messages.scope == "https://api.anthropic.com"


def test_other_attributes_are_the_clients_own(client, store):
    cached = wrap(client, store, scope="test")
    assert cached.messages.count_tokens(model=HAIKU, messages=PARAMS["messages"]).input_tokens > 0
    assert cached.base_url == client.base_url


def test_async_clients_are_wrapped_too(api, store):
    async def main():
        http = anthropic.DefaultAsyncHttpxClient(transport=AsyncSimTransport(api))
        async with anthropic.AsyncAnthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL, max_retries=0,
                                            http_client=http) as client:
            cached = wrap(client, store, scope="test")
            first = await cached.messages.create_traced(**PARAMS)
            second = await cached.messages.create_traced(**PARAMS)
            return first, second

    first, second = asyncio.run(main())
    assert (first.source, second.source) == ("api", "memory") and first.message == second.message


# -- prompt caching (server side) ----------------------------------------------------------------


def test_prompt_cache_report_prices_reads_writes_and_the_uncached_alternative(client):
    request = {"model": HAIKU, "max_tokens": 50, "system": prompt.cached_system(LONG),
               "messages": [{"role": "user", "content": "Summarize it."}]}
    write = client.messages.create(**request).usage
    read = client.messages.create(**request).usage
    first, second = prompt.report(write, HAIKU), prompt.report(read, HAIKU)
    assert first.written > 1024 and first.read == 0
    assert first.saving < 0  # a write costs 1.25x: with no later read, caching loses money
    assert second.read == first.written and second.read_share > 0.9
    assert second.saving > 0 and second.cost.total == pytest.approx(cost.price(read, HAIKU).total)
    both = prompt.total([write, read], HAIKU)
    assert both.saving == pytest.approx(first.saving + second.saving)
    assert both.prompt_tokens == first.prompt_tokens + second.prompt_tokens


def test_a_prompt_under_the_minimum_is_not_cached(client):
    request = {"model": HAIKU, "max_tokens": 50, "system": prompt.cached_system("Be brief."),
               "messages": [{"role": "user", "content": "Summarize it."}]}
    for _ in range(2):
        report = prompt.report(client.messages.create(**request).usage, HAIKU)
        assert (report.read, report.written, report.saving) == (0, 0, 0)


def test_cached_system_block_carries_the_breakpoint():
    assert prompt.cached_system("x", ttl="1h") == [
        {"type": "text", "text": "x", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]


def test_config_from_a_mapping(store):
    assert parse_config({"cache_layers": {"a": {}}}).namespaces["a"].ttl is None
