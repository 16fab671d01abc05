"""Usage fidelity and the request options that change what the model reads or reports: fast mode,
context management edits, cache diagnostics, and unique ids per server."""

from __future__ import annotations

import anthropic
import pytest

from labkit.sim import SimAPI, edits
from labkit.sim import messages as sim_messages

ASK = [{"role": "user", "content": "Write research notes on decoherence and the observer effect."}]
CONTEXT_BETA = {"anthropic-beta": "context-management-2025-06-27"}


def _raw(api_client: anthropic.Anthropic, headers: dict[str, str] | None = None, **params):
    return api_client.messages.with_raw_response.create(**params, extra_headers=headers or {})


def test_fast_mode_reports_its_speed_and_only_speeds_up_output(api: SimAPI) -> None:
    request = {"model": "claude-opus-5-5", "max_tokens": 400, "messages": ASK}
    standard = sim_messages.create(api, request, {}, "req_standard")
    fast = sim_messages.create(api, {**request, "speed": "fast"}, {}, "req_fast")
    assert standard.body["usage"]["speed"] == "standard" and fast.body["usage"]["speed"] == "fast"
    assert fast.body["usage"]["output_tokens"] > 100
    assert fast.latency < standard.latency  # 2.5x output tokens per second (jitter differs by request)
    speedup = api.profile("claude-opus-5-5").fast_mode.output_speedup
    assert speedup == 2.5


def test_fast_mode_is_refused_where_it_is_not_offered_or_needs_its_beta(api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="fast mode is not available for claude-haiku-5-5"):
        api_client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=ASK, speed="fast")
    with pytest.raises(anthropic.BadRequestError, match="anthropic-beta: fast-mode-2026-02-01"):
        api_client.messages.create(model="claude-opus-4-8", max_tokens=50, messages=ASK, speed="fast")
    done = api_client.messages.create(model="claude-opus-4-8", max_tokens=50, messages=ASK, speed="fast",
                                      extra_headers={"anthropic-beta": "fast-mode-2026-02-01"})
    assert done.usage.speed == "fast"


def _tool_session(uses: int) -> list[dict]:
    """A conversation with `uses` earlier tool uses, each with a long result."""
    messages: list[dict] = [{"role": "user", "content": "Read every chapter file, one at a time."}]
    for i in range(uses):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"toolu_{i:02d}", "name": "Read", "input": {"file_path": f"/x/ch{i}.txt"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_{i:02d}", "content": f"chapter {i} " + "word " * 400}]})
    messages.append({"role": "user", "content": "Now summarise them."})
    return messages


READ = [{"name": "Read", "description": "Read a file", "input_schema": {
    "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}}]


def test_clear_tool_uses_clears_old_results_and_reports_what_it_freed(api_client: anthropic.Anthropic) -> None:
    request = {"model": "claude-haiku-5-5", "max_tokens": 100, "tools": READ, "messages": _tool_session(6)}
    plain = _raw(api_client, CONTEXT_BETA, **request).parse()
    edit = {"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 5},
            "keep": {"type": "tool_uses", "value": 2}}
    managed = _raw(api_client, CONTEXT_BETA, **request, extra_body={"context_management": {"edits": [edit]}})
    body = managed.http_response.json()
    (applied,) = body["context_management"]["applied_edits"]
    assert applied["type"] == "clear_tool_uses_20250919" and applied["cleared_tool_uses"] == 4
    assert applied["cleared_input_tokens"] > 1000
    assert body["usage"]["input_tokens"] == plain.usage.input_tokens - applied["cleared_input_tokens"]


def test_context_management_below_its_trigger_is_echoed_with_no_edits(api_client: anthropic.Anthropic) -> None:
    request = {"model": "claude-haiku-5-5", "max_tokens": 100, "tools": READ, "messages": _tool_session(2)}
    managed = _raw(api_client, CONTEXT_BETA, **request,
                   extra_body={"context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}})
    assert managed.http_response.json()["context_management"] == {"applied_edits": []}


def test_context_management_needs_its_beta_and_known_edits(api_client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="context_management"):
        api_client.messages.create(model="claude-haiku-5-5", max_tokens=50, messages=ASK,
                                   extra_body={"context_management": {"edits": []}})
    with pytest.raises(anthropic.BadRequestError, match="does not match any of the expected tags"):
        _raw(api_client, CONTEXT_BETA, model="claude-haiku-5-5", max_tokens=50, messages=ASK,
             extra_body={"context_management": {"edits": [{"type": "clear_everything"}]}})
    assert edits.CLEAR_TOOL_USES == "clear_tool_uses_20250919"


def test_cache_diagnostics_name_what_changed_since_the_previous_message(api_client: anthropic.Anthropic) -> None:
    system = "You are the podcast's research agent. " * 40
    first = api_client.messages.create(model="claude-haiku-5-5", max_tokens=100, system=system, messages=ASK,
                                       diagnostics={"previous_message_id": None})
    assert first.diagnostics is not None and first.diagnostics.cache_miss_reason is None
    follow_up = [*ASK, {"role": "assistant", "content": first.content[0].text},
                 {"role": "user", "content": "Shorter, please."}]

    def reason(**changes):
        params = {"model": "claude-haiku-5-5", "max_tokens": 100, "system": system, "messages": follow_up,
                  "diagnostics": {"previous_message_id": first.id}, **changes}
        return api_client.messages.create(**params).diagnostics.cache_miss_reason

    assert reason() is None  # only appended to: the prefix is reusable
    changed = reason(system=system + "Be brief.")
    assert changed.type == "system_changed" and changed.cache_missed_input_tokens == first.usage.input_tokens
    assert reason(model="claude-sonnet-5-5").type == "model_changed"
    assert reason(messages=[{"role": "user", "content": "Something else."}]).type == "messages_changed"
    assert reason(diagnostics={"previous_message_id": "msg_01unknown"}).type == "previous_message_not_found"
    plain = api_client.messages.create(model="claude-haiku-5-5", max_tokens=20, messages=ASK)
    assert plain.diagnostics is None
