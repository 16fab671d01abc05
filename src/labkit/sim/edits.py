"""`context_management` (beta `context-management-2025-06-27`): edits the API applies to a request
before the model reads it, and the `applied_edits` its response reports.

- `clear_tool_uses_20250919` is applied. Once the trigger is reached (`input_tokens`, default
  100,000, or `tool_uses`), the results of the oldest tool uses, all but the `keep` most recent
  (default 3) and those of `exclude_tools`, are replaced by a placeholder; `clear_tool_inputs` also
  empties their inputs (all of them, or those of the tools it names). If fewer than `clear_at_least`
  input tokens would be freed, nothing is cleared. The response reports `cleared_tool_uses` and
  `cleared_input_tokens`; usage and latency count the edited request.
- `clear_thinking_20251015` and `compact_20260112` are accepted and not applied: earlier turns'
  thinking is already left out of input tokens (`counting`), and compaction needs a model-written
  summary. Only edits that were applied are listed, so they are not.

Defaults follow the beta's documentation (ASSUMPTION where it gives none: the placeholder's text).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .wire import invalid

CLEAR_TOOL_USES = "clear_tool_uses_20250919"
OTHER_EDITS = ("clear_thinking_20251015", "compact_20260112")
DEFAULT_TRIGGER_TOKENS = 100_000
DEFAULT_KEEP = 3
PLACEHOLDER = "[cleared by context management]"


def apply(params: dict[str, Any], count: Callable[[dict[str, Any]], int]) -> tuple[dict[str, Any], dict | None]:
    """The request as the model reads it, and the response's `context_management` (None when the
    request has none); `count` gives a request's input tokens."""
    config = params.get("context_management")
    if config is None:
        return params, None
    edits = config.get("edits") if isinstance(config, dict) else None
    if not isinstance(edits, list) or not all(isinstance(e, dict) for e in edits):
        raise invalid("context_management.edits: Input should be a valid list of edits")
    applied = []
    for index, edit in enumerate(edits):
        kind = edit.get("type")
        if kind == CLEAR_TOOL_USES:
            params, report = _clear_tool_uses(params, edit, count, f"context_management.edits.{index}")
            if report is not None:
                applied.append(report)
        elif kind not in OTHER_EDITS:
            raise invalid(f"context_management.edits.{index}.type: Input tag {kind!r} found using 'type' does "
                          f"not match any of the expected tags: {', '.join(map(repr, (CLEAR_TOOL_USES, *OTHER_EDITS)))}")
    return params, {"applied_edits": applied}


def _clear_tool_uses(params: dict[str, Any], edit: dict[str, Any], count: Callable[[dict[str, Any]], int],
                     where: str) -> tuple[dict[str, Any], dict | None]:
    uses = [(m, b) for m, message in enumerate(params["messages"]) if message.get("role") == "assistant"
            for b in _blocks(message) if b.get("type") == "tool_use"]
    before = count(params)
    trigger = edit.get("trigger") or {"type": "input_tokens", "value": DEFAULT_TRIGGER_TOKENS}
    reached = len(uses) if trigger.get("type") == "tool_uses" else before
    if reached < _value(trigger, f"{where}.trigger"):
        return params, None
    keep = _value(edit.get("keep") or {"type": "tool_uses", "value": DEFAULT_KEEP}, f"{where}.keep")
    excluded = set(edit.get("exclude_tools") or ())
    inputs = edit.get("clear_tool_inputs") or False
    oldest = [b["id"] for _, b in uses[:max(0, len(uses) - keep)] if b.get("name") not in excluded]
    if not oldest:
        return params, None
    edited = copy.deepcopy(params)
    cleared = set(oldest)
    for message in edited["messages"]:
        for block in _blocks(message):
            if block.get("type") == "tool_result" and block.get("tool_use_id") in cleared:
                block["content"] = PLACEHOLDER
            elif block.get("type") == "tool_use" and block.get("id") in cleared and \
                    (inputs is True or (isinstance(inputs, list) and block.get("name") in inputs)):
                block["input"] = {}
    freed = before - count(edited)
    floor = edit.get("clear_at_least")
    if floor is not None and freed < _value(floor, f"{where}.clear_at_least"):
        return params, None
    return edited, {"type": CLEAR_TOOL_USES, "cleared_tool_uses": len(oldest), "cleared_input_tokens": freed}


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _value(spec: Any, where: str) -> int:
    value = spec.get("value") if isinstance(spec, dict) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid(f"{where}.value: Input should be a non-negative integer")
    return value
