"""A finished Message as the server-sent events the API streams, timed by the latency model.

The sequence (reference §2): `message_start` (the Message with empty content, null stop reason, the
input and cache usage, `output_tokens: 1`), a `ping`, then per content block `content_block_start`,
its deltas (`text_delta` chunks of a few words; `thinking_delta` chunks then one `signature_delta`
just before `content_block_stop`; `input_json_delta` chunks of the tool input), `content_block_stop`;
then `message_delta` with the stop reason and the **cumulative** usage, and `message_stop`.

Timing: `message_start` is released at the time to first token; each delta when its first token is
produced (output tokens come out linearly from TTFT to the end, thinking first, as `Timeline.at_token`
models); `message_delta` and `message_stop` at the end. So the first text delta of a request without
thinking arrives at exactly its TTFT, and one after thinking arrives once the thinking is done.

`events(..., fail_at=n)` (or `interrupt(events, n)`) keeps the first n events and then breaks the
stream with an `error` event (`overloaded_error` by default), as the API does mid-stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .latency import Timeline
from .wire import Event

WORDS_PER_TEXT_DELTA = 3
WORDS_PER_THINKING_DELTA = 12
CHARS_PER_JSON_DELTA = 24
CHUNK = re.compile(r"\S+\s*|\s+")


def events(message: dict[str, Any], timeline: Timeline, fail_at: int | None = None) -> list[Event]:
    """The SSE events that stream `message` (a complete Messages response body)."""
    usage = message["usage"]
    output = usage["output_tokens"]
    thinking_tokens = (usage.get("output_tokens_details") or {}).get("thinking_tokens", 0)
    out = [Event("message_start", {"type": "message_start", "message": _started(message)}, timeline.ttft),
           Event("ping", {"type": "ping"}, timeline.ttft)]
    spans = _spans(message["content"], output, thinking_tokens)
    for index, (block, first, size) in enumerate(spans):
        out.extend(_block_events(index, block, first, size, output, timeline))
    delta = {"type": "message_delta",
             "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"],
                       "stop_details": message.get("stop_details")},
             "usage": {key: usage[key] for key in ("input_tokens", "cache_creation_input_tokens",
                                                    "cache_read_input_tokens", "output_tokens",
                                                    "output_tokens_details") if key in usage}}
    out += [Event("message_delta", delta, timeline.total),
            Event("message_stop", {"type": "message_stop"}, timeline.total)]
    return out if fail_at is None else interrupt(out, fail_at)


def interrupt(stream: list[Event], fail_at: int, error_type: str = "overloaded_error",
              message: str = "Overloaded") -> list[Event]:
    """The first `fail_at` events of a stream, then the `error` event that breaks it off."""
    kept = stream[:max(0, fail_at)]
    at = kept[-1].at if kept else 0.0
    error = {"type": "error", "error": {"type": error_type, "message": message}}
    return [*kept, Event("error", error, at)]


def _started(message: dict[str, Any]) -> dict[str, Any]:
    usage = {k: v for k, v in message["usage"].items() if k != "output_tokens_details"}
    usage["output_tokens"] = 1
    return {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}


def _spans(content: list[dict], output: int, thinking_tokens: int) -> list[tuple[dict, int, int]]:
    """(block, index of its first output token, its tokens): thinking blocks take the thinking tokens,
    the other blocks share the rest in proportion to their length."""
    lengths = [0 if block["type"] == "thinking" else len(_payload(block)) for block in content]
    rest, total = output - thinking_tokens, sum(lengths) or 1
    spans, first = [], 0
    for block, length in zip(content, lengths):
        size = thinking_tokens if block["type"] == "thinking" else round(rest * length / total)
        spans.append((block, first, size))
        first += size
    return spans


def _payload(block: dict) -> str:
    if block["type"] == "tool_use":
        return json.dumps(block["input"])
    return block.get("text", "")


def _block_events(index: int, block: dict, first: int, size: int, output: int,
                  timeline: Timeline) -> Iterator[Event]:
    kind = block["type"]
    start = timeline.at_token(first, output)
    opening = {"text": {"type": "text", "text": ""},
               "thinking": {"type": "thinking", "thinking": "", "signature": ""},
               "tool_use": {"type": "tool_use", "id": block.get("id"), "name": block.get("name"),
                            "input": {}}}
    yield Event("content_block_start",
                {"type": "content_block_start", "index": index, "content_block": opening[kind]}, start)
    payload = block["thinking"] if kind == "thinking" else _payload(block)
    chunks = _chunks(payload, kind)
    done = 0
    for chunk in chunks:
        at = timeline.at_token(first + size * done // max(1, len(payload)), output)
        yield Event("content_block_delta", {"type": "content_block_delta", "index": index,
                                            "delta": _delta(kind, chunk)}, at)
        done += len(chunk)
    end = timeline.at_token(first + size, output)
    if kind == "thinking":
        yield Event("content_block_delta", {"type": "content_block_delta", "index": index,
                                            "delta": {"type": "signature_delta",
                                                      "signature": block["signature"]}}, end)
    yield Event("content_block_stop", {"type": "content_block_stop", "index": index}, end)


def _chunks(payload: str, kind: str) -> list[str]:
    if kind == "tool_use":
        return [payload[i:i + CHARS_PER_JSON_DELTA] for i in range(0, len(payload), CHARS_PER_JSON_DELTA)]
    per = WORDS_PER_THINKING_DELTA if kind == "thinking" else WORDS_PER_TEXT_DELTA
    words = CHUNK.findall(payload)
    return ["".join(words[i:i + per]) for i in range(0, len(words), per)]


def _delta(kind: str, chunk: str) -> dict[str, str]:
    if kind == "thinking":
        return {"type": "thinking_delta", "thinking": chunk}
    if kind == "tool_use":
        return {"type": "input_json_delta", "partial_json": chunk}
    return {"type": "text_delta", "text": chunk}
