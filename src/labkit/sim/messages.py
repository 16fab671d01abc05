"""POST /v1/messages: validate a request, compose the answer, count usage, model the latency."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import tokens
from ..models import ModelProfile
from . import content, latency
from .caching import CacheUsage
from .wire import SimRequest, SimResponse, invalid, make_id

if TYPE_CHECKING:
    from .api import SimAPI

VERSIONS = ("2023-06-01", "2026-10-21")
REMOVED_SAMPLING = ("temperature", "top_p", "top_k")


def handle(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    try:
        params = request.json()
    except ValueError:
        raise invalid("request body is not valid JSON") from None
    return create(api, params, request.headers, request_id)


def create(api: SimAPI, params: Any, headers: Mapping[str, str], request_id: str) -> SimResponse:
    version = headers.get("anthropic-version", VERSIONS[-1])
    validate(params, version)
    profile = api.profile(params["model"])
    rng = random.Random(_digest(api.seed, params))
    now = api.clock.now()
    input_tokens = tokens.estimate_request(params)
    cached = api.prompt_cache.account(profile, params, now)
    uncached = input_tokens - cached.read - cached.written
    limit_headers = api.limits.admit(profile, uncached + cached.written, params["max_tokens"], now)
    message, timeline = answer(api, profile, params, rng, input_tokens, cached)
    api.limits.settle(profile, params["max_tokens"], message["usage"]["output_tokens"], now)
    message["id"] = make_id("msg", api.seed, _digest(api.seed, params), api.occurrence(params))
    headers_out = {"request-id": request_id, "content-type": "application/json", **limit_headers}
    return SimResponse(status=200, body=message, headers=headers_out, latency=timeline.total)


def validate(params: Any, version: str) -> None:
    """The checks the real API makes before generating, with its error type and a similar message."""
    if version not in VERSIONS:
        raise invalid(f"anthropic-version: unknown version {version!r}")
    if not isinstance(params, dict):
        raise invalid("request body must be a JSON object")
    for field in ("model", "max_tokens", "messages"):
        if field not in params:
            raise invalid(f"{field}: Field required")
    if version >= "2026-10-21":
        for field in REMOVED_SAMPLING:
            if field in params:
                raise invalid(f"{field}: Extra inputs are not permitted")
    max_tokens = params["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        raise invalid("max_tokens: Input should be a non-negative integer")
    messages = params["messages"]
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        body = message.get("content")
        if body in ("", []) or body is None:
            raise invalid(f"messages.{i}: all messages must have non-empty content")


def answer(api: SimAPI, profile: ModelProfile, params: dict, rng: random.Random, input_tokens: int,
           cached: CacheUsage) -> tuple[dict[str, Any], latency.Timeline]:
    """The Message body for a validated request, and its modelled timeline."""
    if input_tokens + params["max_tokens"] > profile.context_window:
        raise invalid(f"prompt is too long: {input_tokens} tokens + max_tokens {params['max_tokens']} "
                      f"> {profile.context_window} maximum")
    instruction = tokens.content_text(_last_user(params["messages"]))
    context = "\n".join([tokens.content_text(params.get("system") or ""),
                         *(tokens.content_text(m["content"]) for m in params["messages"])])
    kind = content.answer_kind(instruction)
    target = content.target_length(instruction, kind, rng)
    count = lambda text: tokens.estimate(text, profile.id)  # noqa: E731
    text = content.compose(api.corpus, context, instruction, rng, target, count)
    text, stop_reason, stop_sequence = _stop(text, params, profile.id)
    output_tokens = max(1, tokens.estimate(text, profile.id))
    uncached = input_tokens - cached.read
    timeline = latency.timeline(profile, uncached, cached.read, output_tokens, rng)
    usage = {
        "input_tokens": uncached - cached.written,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cached.written,
        "cache_read_input_tokens": cached.read,
        "cache_creation": {"ephemeral_5m_input_tokens": cached.write_5m,
                           "ephemeral_1h_input_tokens": cached.write_1h},
        "service_tier": "standard",
    }
    body = {
        "type": "message",
        "role": "assistant",
        "model": profile.id,
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }
    return body, timeline


def _stop(text: str, params: dict, model: str) -> tuple[str, str, str | None]:
    """Cut the text at the first stop sequence or at `max_tokens`, whichever comes first."""
    hits = [(text.find(s), s) for s in params.get("stop_sequences") or () if s and s in text]
    if hits:
        cut, sequence = min(hits)
        text = text[:cut]
        if tokens.estimate(text, model) <= params["max_tokens"]:
            return text, "stop_sequence", sequence
    limit = params["max_tokens"]
    if tokens.estimate(text, model) > limit:
        return _truncate(text, limit, model), "max_tokens", None
    return text, "end_turn", None


def _truncate(text: str, limit: int, model: str) -> str:
    """The longest prefix of `text` (in whole BPE tokens) whose estimate fits in `limit` tokens."""
    encoding = tokens._encoding()
    ids = encoding.encode(text, disallowed_special=())
    low, high = 0, len(ids)
    while low < high:
        mid = (low + high + 1) // 2
        if tokens.estimate(encoding.decode(ids[:mid]), model) <= limit:
            low = mid
        else:
            high = mid - 1
    return encoding.decode(ids[:low])


def _last_user(messages: list[dict]) -> Any:
    for message in reversed(messages):
        if message["role"] == "user":
            return message["content"]
    return ""


def _digest(seed: int, params: Any) -> str:
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(f"{seed}\x00{canonical}".encode(), digest_size=16).hexdigest()
