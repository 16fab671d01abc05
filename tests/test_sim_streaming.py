"""Streaming from the simulator: the exact event sequence, the final message, timing, broken streams."""

import asyncio
import functools
import json
import time

import anthropic
import pytest

import labkit
from labkit import backend
from labkit.sim import messages, streaming
from labkit.sim.wire import SimRequest

MODEL = "claude-haiku-5-5"
ASK = [{"role": "user", "content": "Write research notes on decoherence and the observer effect."}]
TOOLS = [{"name": "search_corpus", "description": "Search the research corpus.",
          "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}]


pytestmark = pytest.mark.usefixtures("offline")


def fresh_client():
    """A client of a fresh simulator: its first answer to a request has the same id as any other's."""
    backend.reset_simulator()
    return labkit.client(max_retries=0)


def non_streamed(**request):
    """The same request answered without streaming by a fresh simulator (same seed, same ids)."""
    backend.reset_simulator()
    return labkit.client(max_retries=0).messages.create(**request)


def event_types(client, **request):
    with client.messages.create(stream=True, **request) as stream:
        return [event.type for event in stream], stream


def test_raw_events_come_in_the_documented_order(client):
    types, _ = event_types(client, model=MODEL, max_tokens=300, messages=ASK)
    assert types[0] == "message_start"
    assert types[1:3] == ["content_block_start", "content_block_delta"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(types[2:-3]) == {"content_block_delta"}


def test_message_start_and_message_delta_carry_the_usage(client):
    request = dict(model=MODEL, max_tokens=300, messages=ASK)
    with client.messages.create(stream=True, **request) as stream:
        events = list(stream)
    start, delta = events[0], events[-2]
    assert start.message.content == [] and start.message.stop_reason is None
    assert start.message.usage.output_tokens == 1 and start.message.usage.input_tokens > 0
    assert start.message.usage.cache_read_input_tokens == 0
    final = non_streamed(**request)
    assert delta.delta.stop_reason == final.stop_reason
    assert delta.usage.output_tokens == final.usage.output_tokens  # cumulative, not an increment
    assert delta.usage.output_tokens_details.thinking_tokens == 0


def test_a_ping_follows_message_start():
    request = SimRequest("POST", "/v1/messages", {"x-api-key": "k", "anthropic-version": "2026-10-21"},
                         json.dumps({"model": MODEL, "max_tokens": 100, "messages": ASK, "stream": True}).encode())
    names = [event.name for event in backend.simulator().handle(request).events]
    assert names[:2] == ["message_start", "ping"]


def test_text_arrives_in_small_deltas_and_matches_the_plain_answer(client):
    request = dict(model=MODEL, max_tokens=300, messages=ASK)
    with client.messages.stream(**request) as stream:
        chunks = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(chunks) > 10 and max(len(c.split()) for c in chunks) <= streaming.WORDS_PER_TEXT_DELTA
    assert final.model_dump() == non_streamed(**request).model_dump()


def test_thinking_streams_its_text_then_its_signature(client):
    request = dict(model=MODEL, max_tokens=8000, messages=ASK, thinking={"type": "adaptive"})
    with client.messages.create(stream=True, **request) as stream:
        events = list(stream)
    deltas = [e.delta.type for e in events if e.type == "content_block_delta" and e.index == 0]
    assert deltas[-1] == "signature_delta" and set(deltas[:-1]) == {"thinking_delta"}
    with fresh_client().messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert final.model_dump() == non_streamed(**request).model_dump()


def test_tool_input_streams_as_partial_json(client):
    request = dict(model=MODEL, max_tokens=500, tools=TOOLS,
                   messages=[{"role": "user", "content": "Search the corpus for decoherence facts."}])
    with client.messages.create(stream=True, **request) as stream:
        events = list(stream)
    partial = [e.delta.partial_json for e in events if e.type == "content_block_delta"
               and e.delta.type == "input_json_delta"]
    assert json.loads("".join(partial)) == {"query": "Quantum decoherence"}
    with fresh_client().messages.stream(**request) as stream:
        final = stream.get_final_message()
    assert final.model_dump() == non_streamed(**request).model_dump() and final.stop_reason == "tool_use"


def test_async_streaming_gives_the_same_message():
    request = dict(model=MODEL, max_tokens=300, messages=ASK)

    async def main():
        async with labkit.async_client(max_retries=0) as aclient:
            async with aclient.messages.stream(**request) as stream:
                text = "".join([chunk async for chunk in stream.text_stream])
                return text, await stream.get_final_message()

    text, final = asyncio.run(main())
    assert text == final.content[0].text
    assert final.model_dump() == non_streamed(**request).model_dump()


def test_async_raw_events_match_sync():
    request = dict(model=MODEL, max_tokens=200, messages=ASK)

    async def main():
        async with labkit.async_client(max_retries=0) as aclient:
            return [event.type async for event in await aclient.messages.create(stream=True, **request)]

    assert asyncio.run(main()) == event_types(labkit.client(max_retries=0), **request)[0]


def test_first_text_arrives_at_the_modelled_time_to_first_token(client):
    with client.messages.stream(model=MODEL, max_tokens=5, messages=ASK) as warm_up:
        warm_up.until_done()  # the SDK's one-time set-up (imports, validators) is not the API's latency
    scale = 0.4  # a TTFT of ~0.2 s of wall time: large against a busy machine's scheduling noise
    labkit.configure(backend="sim", seed=0, time_scale=scale)
    request = dict(model=MODEL, max_tokens=60, messages=ASK)
    body = json.dumps({**request, "stream": True}).encode()
    backend.reset_simulator()
    events = backend.simulator().handle(SimRequest("POST", "/v1/messages", {
        "x-api-key": "k", "anthropic-version": "2026-10-21"}, body)).events
    first_text = next(e.at for e in events if e.name == "content_block_delta")
    client = fresh_client()
    started = time.perf_counter()
    with client.messages.stream(**request) as stream:
        next(iter(stream.text_stream))
        waited = time.perf_counter() - started
    assert first_text == pytest.approx(events[0].at)  # no thinking: the first text is the first token
    assert first_text * scale * 0.95 <= waited <= first_text * scale * 1.25 + 0.03


def test_thinking_delays_the_first_text():
    def first_text_at(body: dict) -> float:
        request = SimRequest("POST", "/v1/messages", {"x-api-key": "k", "anthropic-version": "2026-10-21"},
                             json.dumps({**body, "stream": True}).encode())
        events = backend.simulator().handle(request).events
        return next(e.at for e in events if e.name == "content_block_delta" and e.data["delta"]["type"] == "text_delta")

    plain = {"model": MODEL, "max_tokens": 8000, "messages": ASK}
    assert first_text_at({**plain, "thinking": {"type": "adaptive"}}) > first_text_at(plain) + 5


def test_a_stream_can_be_broken_off_with_an_error_event(client, monkeypatch):
    monkeypatch.setattr(messages.streaming, "events", functools.partial(streaming.events, fail_at=6))
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(model=MODEL, max_tokens=300, messages=ASK) as stream:
            for _ in stream.text_stream:
                pass
    assert caught.value.body["error"]["type"] == "overloaded_error"


def test_interrupt_keeps_the_first_events_and_ends_with_the_error():
    request = SimRequest("POST", "/v1/messages", {"x-api-key": "k", "anthropic-version": "2026-10-21"},
                         json.dumps({"model": MODEL, "max_tokens": 100, "messages": ASK, "stream": True}).encode())
    events = backend.simulator().handle(request).events
    broken = streaming.interrupt(events, 4, "api_error", "Internal server error")
    assert broken[:4] == events[:4] and broken[-1].name == "error" and broken[-1].at == events[3].at
    assert broken[-1].data["error"] == {"type": "api_error", "message": "Internal server error"}
