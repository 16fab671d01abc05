"""POST /v1/messages: check a request, compose the answer, count usage, model the latency.

How an answer is made (docs/simulator.md tells lessons the same):
1. *Subject*: the corpus concepts named anywhere in the prompt (system and every turn, tool results
   included) and the kind of answer the user's own latest words ask for (`tools.read_turn`: harness
   blocks and `role: "system"` messages are context, never the instruction); after tool results,
   a brief report unless another kind is asked for.
2. *Plan*: one generator seeded by the seed, model, concepts, kind, "N words", turn number and tool
   results, never by the wording, so a terse prompt naming the same concepts gets the same answer.
   A second generator, seeded by the plan and the thinking settings, decides how long the model thinks.
3. *Blocks*: thinking first; then either tool calls (`tools.calls`: the next step of the
   instruction; with `auto`, a short sentence before them) or text: a report of the tool results
   since the instruction, then the composed answer (after results only when the conversation names
   a concept; continuing a final assistant turn when there is one), or, with `output_config.format`,
   a JSON value valid against its schema (`content.structured`). A simulator given a session
   script (`SimAPI(script=...)`) replies with its matching turn instead.
4. *Cut*: stop sequences end the text; `max_tokens` (or what is left of the context window) is spent
   in block order, thinking first; a tool call that does not fit is dropped.
5. *Usage and time*: `output_tokens` counts thinking and visible tokens (at least 1, 0 for a
   `max_tokens: 0` cache pre-warm); latency follows `latency.timeline`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models import ModelProfile
from . import content, counting, edits, latency, streaming, thinking, tools, validation
from .caching import CacheUsage
from .content import Concept, Corpus, Count
from .wire import APIError, SimRequest, SimResponse, invalid, make_id

if TYPE_CHECKING:
    from .api import SimAPI

# A continuation starts with a space unless the prefill ends in an opening bracket, quote or dash.
GLUED = ("(", "[", "{", '"', "'", "“", "-", "/")


@dataclasses.dataclass(frozen=True)
class Reply:
    """The generated part of a Message: content blocks, why it stopped, and output tokens."""

    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    thinking_tokens: int


def handle(api: SimAPI, request: SimRequest, match: re.Match[str], request_id: str) -> SimResponse:
    return create(api, validation.parse(request), request.headers, request_id)


def create(api: SimAPI, params: Any, headers: dict[str, str], request_id: str) -> SimResponse:
    """Answer one Messages request body (also used for each request of a batch)."""
    version = headers.get("anthropic-version", validation.LATEST)
    betas = validation.betas(headers)
    validation.check_body(params, version, betas=betas)
    tools.check(params)
    profile = api.profile(params["model"])
    validation.check_prefill(params, profile)
    speedup = _fast_mode(params, profile, betas)
    think = thinking.resolve(params, profile)
    params, managed = edits.apply(params, lambda request: counting.request_tokens(request, profile.tokenizer_ratio))
    input_tokens = _check_size(params, profile)
    digest = _digest(api.seed, params)
    now = api.clock.timestamp()
    cached = api.prompt_cache.account(profile, params, now)
    uncached = input_tokens - cached.read - cached.written
    limit_headers = api.limits.admit(profile, uncached + cached.written, params["max_tokens"], now)
    limit = min(params["max_tokens"], profile.context_window - input_tokens)
    message_id = api.new_id("msg", digest, api.occurrence(digest))
    reply = _scripted(api, profile, params, limit, message_id, now) or answer(
        api.corpus, profile, params, think, api.seed, limit, message_id)
    if limit < params["max_tokens"] and reply.stop_reason == "max_tokens":
        reply = dataclasses.replace(reply, stop_reason="model_context_window_exceeded")
    message = _message(message_id, profile, reply, cached, uncached, params.get("speed", "standard"))
    if managed is not None:
        message["context_management"] = managed
    message["diagnostics"] = api.fingerprints.diagnose(params)
    api.fingerprints.remember(message_id, params, input_tokens)
    timeline = latency.timeline(profile, input_tokens - cached.read, cached.read, reply.output_tokens, digest,
                                output_speedup=speedup)
    # OTPM is estimated from max_tokens at the start and corrected when the answer ends (reference §8).
    api.limits.settle(profile, params["max_tokens"], reply.output_tokens, now + timeline.total)
    headers_out = {"request-id": request_id, **limit_headers}
    if params.get("stream") is True:
        headers_out.update({"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"})
        return SimResponse(status=200, headers=headers_out, latency=timeline.total,
                           events=streaming.events(message, timeline))
    headers_out["content-type"] = "application/json"
    return SimResponse(status=200, body=message, headers=headers_out, latency=timeline.total)


def _fast_mode(params: dict, profile: ModelProfile, betas: frozenset[str]) -> float:
    """The output speed-up `speed` asks for (1.0: standard). Fast mode is offered on some models
    only, in research preview under its beta header (reference §7.1)."""
    speed = params.get("speed", "standard")
    if speed not in ("standard", "fast"):
        raise invalid("speed: Input should be 'standard' or 'fast'")
    if speed == "standard":
        return 1.0
    fast = profile.fast_mode
    if fast is None:
        raise invalid(f"speed: fast mode is not available for {profile.id}")
    if fast.beta is not None and fast.beta not in betas:
        raise invalid(f"speed: fast mode on {profile.id} is a research preview: send the "
                      f"`anthropic-beta: {fast.beta}` header")
    return fast.output_speedup


def _scripted(api: SimAPI, profile: ModelProfile, params: dict, limit: int, message_id: str,
              now: float) -> Reply | None:
    """The reply of a scripted session's matching turn, if the simulator plays a script and a
    turn matches; an unmatched request under `fallback: error` is a 400,
    which gives back its output-token reservation."""
    if api.script is None:
        return None
    try:
        turn = api.script.reply(params)
    except APIError:
        api.limits.settle(profile, params["max_tokens"], 0, now)
        raise
    if turn is None:
        return None
    if params["max_tokens"] == 0:
        return Reply([], "max_tokens", None, 0, 0)
    blocks: list[Any] = [_Text([turn.text], " ")] if turn.text else []
    return _fit([*blocks, *_uses(turn.calls, message_id)], 0, limit, params.get("stop_sequences") or (),
                lambda text: counting.text_tokens(text, profile.tokenizer_ratio))


def _check_size(params: dict, profile: ModelProfile) -> int:
    """The request's input tokens, after the checks against the model's output and context limits."""
    if params["max_tokens"] > profile.max_output_tokens:
        raise invalid(f"max_tokens: {params['max_tokens']} > {profile.max_output_tokens}, which is the "
                      f"maximum allowed number of output tokens for {profile.id}")
    input_tokens = counting.request_tokens(params, profile.tokenizer_ratio)
    if input_tokens >= profile.context_window:
        raise invalid(f"prompt is too long: {input_tokens} tokens > {profile.context_window} maximum")
    return input_tokens


def answer(corpus: Corpus, profile: ModelProfile, params: dict, think: thinking.Thinking, seed: int,
           limit: int, message_id: str) -> Reply:
    """The reply to a validated request, generating at most `limit` output tokens; tool-use ids derive
    from `message_id`, so they are unique per response."""
    if params["max_tokens"] == 0:
        return Reply([], "max_tokens", None, 0, 0)
    ratio = profile.tokenizer_ratio

    def count(text: str) -> int:
        return counting.text_tokens(text, ratio)

    subject = _subject(corpus, profile, params, seed)
    thinking_tokens = thinking.planned_tokens(think, len(subject.concepts), repr(subject.key))
    blocks: list[Any] = []
    if thinking_tokens:
        shown = thinking.summary(corpus, subject.concepts, thinking_tokens, count)
        blocks.append({"type": "thinking", "thinking": "" if think.display == "omitted" else shown,
                       "signature": thinking.signature(subject.key, thinking_tokens, shown)})
    prefill = params["messages"][-1] if params["messages"][-1]["role"] == "assistant" else None
    made = [] if prefill or not params.get("tools") else tools.calls(params, subject.turn, corpus.match)
    if made:
        blocks += _tool_blocks(params, made, message_id)
    else:
        blocks.append(_text_block(corpus, subject, thinking_tokens, ratio, limit, prefill, _json_schema(params)))
    return _fit(blocks, thinking_tokens, limit, params.get("stop_sequences") or (), count)


def _json_schema(params: dict) -> dict | None:
    """The schema a structured-output request asks the text to follow (`output_config.format`)."""
    wanted = (params.get("output_config") or {}).get("format") or {}
    schema = wanted.get("schema") if isinstance(wanted, dict) and wanted.get("type") == "json_schema" else None
    return schema if isinstance(schema, dict) else None


def _tool_blocks(params: dict, made: list[tools.Call], message_id: str) -> list[Any]:
    """The calls, after a short sentence when the model chose to call (`auto`), alone when forced."""
    calls = _uses(made, message_id)
    if (params.get("tool_choice") or {}).get("type", "auto") == "auto":
        return [_Text([tools.preamble(made)], " "), *calls]
    return calls


def _uses(made: Sequence[tools.Call], message_id: str) -> list[dict[str, Any]]:
    """tool_use blocks for the calls, with ids unique per response."""
    return [{"type": "tool_use", "id": make_id("toolu", message_id, i), "name": call.name, "input": call.input}
            for i, call in enumerate(made)]


def _text_block(corpus: Corpus, subject: Subject, thinking_tokens: int, ratio: float, limit: int,
                prefill: dict | None, schema: dict | None) -> _Text:
    """The text answer: a report of the tool results first, then the planned answer (after results,
    only if a concept is named: a bare report otherwise), drifting less the deeper the model thought;
    a JSON value built from `schema` and that text when the request asks for structured output."""
    named = len(subject.concepts)
    drift = content.drift_rate(named, thinking.depth(thinking_tokens, named))
    answered = subject.turn.results
    pieces = [tools.lead_in(answered)] if answered else []
    if not answered or named:
        pieces += content.draft(corpus, repr(subject.key), subject.kind, subject.concepts, subject.words,
                                drift, ratio, limit)
    joiner = content.joiner(subject.kind)
    if schema is not None and prefill is None:
        value = content.structured(schema, joiner.join(pieces), content.title(subject.turn.instruction))
        return _Text([json.dumps(value, ensure_ascii=False)], " ")
    return _Text(_continue(prefill, pieces), joiner)


@dataclasses.dataclass(frozen=True)
class Subject:
    """What a prompt is about and asks for, read before anything is generated. `key` holds all the
    answer depends on (and nothing of the wording): it seeds the plan."""

    turn: tools.Turn
    concepts: tuple[Concept, ...]
    kind: str
    words: int | None
    key: tuple


def _subject(corpus: Corpus, profile: ModelProfile, params: dict, seed: int) -> Subject:
    messages = params["messages"]
    turn = tools.read_turn(messages)
    context = "\n".join([_text(params.get("system") or ""), *(_text(m["content"]) for m in messages)])
    concepts = tuple(corpus.match(context))
    kind = content.answer_kind(turn.instruction)
    if turn.results and kind == "research":
        kind = "brief"  # after tool calls the model reports briefly, unless asked for another kind
    words = content.words_asked(turn.instruction)
    key = (seed, profile.id, tuple(c.id for c in concepts), kind, words, len(messages),
           tuple((r.name, r.text, r.is_error) for r in turn.results))
    return Subject(turn, concepts, kind, words, key)


@dataclasses.dataclass(frozen=True)
class _Text:
    """A text block still in pieces (sentences or lines), so its tokens are the sum of cached per-piece
    counts and a cut only re-tokenizes the piece it falls in."""

    pieces: list[str]
    joiner: str


def _text(body: Any) -> str:
    return body if isinstance(body, str) else "\n".join(_block_text(b) for b in body)


def _block_text(block: dict) -> str:
    kind = block.get("type")
    if kind == "text":
        return block["text"]
    if kind == "tool_result":
        inner = block.get("content") or ""
        return inner if isinstance(inner, str) else _text(inner)
    return ""


def _continue(prefill: dict | None, pieces: list[str]) -> list[str]:
    """Pieces that continue a final assistant turn (the Message's content continues it directly)."""
    if prefill is None or not pieces:
        return pieces
    before = _text(prefill["content"])
    return pieces if not before or before.endswith(GLUED) else [" " + pieces[0], *pieces[1:]]


def _fit(blocks: list[Any], thinking_tokens: int, limit: int, stops: list[str], count: Count) -> Reply:
    """Spend the output budget in block order, thinking first; stop sequences end the text."""
    kept: list[dict] = []
    used = 0
    for block in blocks:
        room = limit - used
        if isinstance(block, _Text):
            text, spent, stop, cut = _fit_text(block, room, stops, count)
            if text:
                kept.append({"type": "text", "text": text})
            used += spent
            if cut or stop is not None:
                return _reply(kept, "max_tokens" if cut else "stop_sequence", stop, used, thinking_tokens)
        elif block["type"] == "thinking":
            spent = min(thinking_tokens, room)
            kept.append(block)
            used += spent
            if spent < thinking_tokens:
                return _reply(kept, "max_tokens", None, used, spent)
        else:
            spent = count(f"{block['name']} {json.dumps(block['input'], sort_keys=True)}")
            if spent > room:
                return _reply(kept, "max_tokens", None, used, thinking_tokens)
            kept.append(block)
            used += spent
    reason = "tool_use" if any(b["type"] == "tool_use" for b in kept) else "end_turn"
    return _reply(kept, reason, None, used, thinking_tokens)


def _fit_text(text: _Text, room: int, stops: list[str], count: Count) -> tuple[str, int, str | None, bool]:
    """(the text kept, its tokens, the stop sequence met, whether `room` cut it)."""
    whole = text.joiner.join(text.pieces)
    hits = [(whole.find(s), s) for s in stops if s and s in whole]
    if hits:
        at, stop = min(hits)
        kept = _truncate(whole[:at], room, count)
        return kept, count(kept), None if kept != whole[:at] else stop, kept != whole[:at]
    join_cost = content.join_cost(text.joiner, count)
    out: list[str] = []
    used = 0
    for piece in text.pieces:
        cost = count(piece) + (join_cost if out else 0)
        if used + cost > room:
            partial = _truncate(piece, room - used - (join_cost if out else 0), count)
            if partial:
                out.append(partial)
                used += count(partial) + (join_cost if len(out) > 1 else 0)
            return text.joiner.join(out), used, None, True
        out.append(piece)
        used += cost
    return whole, used, None, False


def _reply(blocks: list[dict], reason: str, stop: str | None, used: int, thinking_tokens: int) -> Reply:
    # "output_tokens will be non-zero, even for an empty string response" (SDK Usage docstring).
    return Reply(blocks, reason, stop, max(1, used), min(thinking_tokens, used))


def _truncate(text: str, limit: int, count: Count) -> str:
    """The longest word-boundary prefix of `text` whose token count fits in `limit`: a first guess in
    proportion to length, then a word at a time (a few tokenizer calls, not a search over every word)."""
    if limit <= 0:
        return ""
    total = count(text)
    if total <= limit:
        return text
    cut = _space_before(text, len(text) * limit // total + 1)
    while cut and count(text[:cut]) > limit:
        cut = _space_before(text, cut)
    while (following := _space_after(text, cut)) is not None and count(text[:following]) <= limit:
        cut = following
    return text[:cut]


def _space_before(text: str, position: int) -> int:
    return max(text.rfind(" ", 0, position), text.rfind("\n", 0, position), 0)


def _space_after(text: str, position: int) -> int | None:
    found = [i for i in (text.find(" ", position + 1), text.find("\n", position + 1)) if i != -1]
    return min(found) if found else None


def _message(message_id: str, profile: ModelProfile, reply: Reply, cached: CacheUsage,
             uncached: int, speed: str) -> dict[str, Any]:
    usage = {
        "input_tokens": uncached,
        "output_tokens": reply.output_tokens,
        "cache_creation_input_tokens": cached.written,
        "cache_read_input_tokens": cached.read,
        "cache_creation": {"ephemeral_5m_input_tokens": cached.write_5m,
                           "ephemeral_1h_input_tokens": cached.write_1h},
        "output_tokens_details": {"thinking_tokens": reply.thinking_tokens},
        "server_tool_use": None,
        "service_tier": "standard",
        "speed": speed,
    }
    return {"id": message_id, "type": "message", "role": "assistant", "model": profile.id,
            "content": reply.content, "stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence,
            "stop_details": None, "container": None, "diagnostics": None, "usage": usage}


def _digest(seed: int, params: dict) -> str:
    """Identifies a request: streamed or not, the same request gets the same answer and timeline."""
    body = {k: v for k, v in params.items() if k != "stream"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(f"{seed}\x00{canonical}".encode(), digest_size=16).hexdigest()
