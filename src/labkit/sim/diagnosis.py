"""Cache diagnostics (`diagnostics: {previous_message_id}`, beta `cache-diagnosis-2026-04-07`): why
this request's prompt could not reuse the cached prefix of the request that produced an earlier
message.

A client opts in by sending `diagnostics` (with `previous_message_id: null` on a conversation's first
turn, as the SDK documents). The simulator keeps the prompt fingerprint of each opted-in request
(model and speed, system, tools, messages, and the other fields that shape the prompt) under its
message id, so requests that never ask pay nothing for it, and compares, in the SDK's order of
reasons:

    previous_message_not_found   the id is unknown here (or was forgotten: the last MAX_KEPT are kept)
    model_changed                `model` or `speed` differs
    system_changed               `system` differs
    tools_changed                `tools` differ
    messages_changed             the earlier messages are not a prefix of this request's
    unavailable                  those match but another prompt field (`thinking`, `tool_choice`) differs

`cache_missed_input_tokens` is the earlier request's input tokens: what it could have read from the
cache. A request that only appends to the earlier one gets `cache_miss_reason: null` (ASSUMPTION:
the SDK reserves null for "pending"; the API's answer for a clean match is not documented).
"""

from __future__ import annotations

import collections
import hashlib
import json
import threading
from typing import Any

MAX_KEPT = 10_000
OTHER_PROMPT_FIELDS = ("thinking", "tool_choice", "output_config", "cache_control")


class Fingerprints:
    """The prompt fingerprints of answered requests, by message id (thread-safe, bounded)."""

    def __init__(self) -> None:
        self._kept: collections.OrderedDict[str, tuple[dict[str, str], list[str], int]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def remember(self, message_id: str, params: dict[str, Any], input_tokens: int) -> None:
        """Keep an opted-in request's fingerprint (a request without `diagnostics` is not kept)."""
        if not isinstance(params.get("diagnostics"), dict):
            return
        with self._lock:
            self._kept[message_id] = (_parts(params), [_digest(m) for m in params["messages"]], input_tokens)
            while len(self._kept) > MAX_KEPT:
                self._kept.popitem(last=False)

    def diagnose(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The response's `diagnostics` (None when the request asks for none)."""
        asked = params.get("diagnostics")
        if not isinstance(asked, dict):
            return None
        previous = asked.get("previous_message_id")
        if previous is None:  # the first turn opts in with nothing to compare
            return {"cache_miss_reason": None}
        with self._lock:
            kept = self._kept.get(str(previous))
        if kept is None:
            return {"cache_miss_reason": {"type": "previous_message_not_found"}}
        parts, messages, tokens = kept
        now = _parts(params)
        for field, reason in (("model", "model_changed"), ("system", "system_changed"), ("tools", "tools_changed")):
            if now[field] != parts[field]:
                return {"cache_miss_reason": {"type": reason, "cache_missed_input_tokens": tokens}}
        current = [_digest(m) for m in params["messages"]]
        if current[:len(messages)] != messages:
            return {"cache_miss_reason": {"type": "messages_changed", "cache_missed_input_tokens": tokens}}
        if now["other"] != parts["other"]:
            return {"cache_miss_reason": {"type": "unavailable"}}
        return {"cache_miss_reason": None}


def _parts(params: dict[str, Any]) -> dict[str, str]:
    return {"model": _digest([params.get("model"), params.get("speed", "standard")]),
            "system": _digest(params.get("system")), "tools": _digest(params.get("tools")),
            "other": _digest({k: params.get(k) for k in OTHER_PROMPT_FIELDS})}


def _digest(value: Any) -> str:
    """A short digest of a JSON value: what is kept of a prompt's parts (a session's messages would
    otherwise be stored again with every request)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()
