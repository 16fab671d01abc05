"""What the API checks before it generates: body size, credentials, version and request shape.

Error types and status codes follow reference §1.5; message wording follows the real API where the docs
or captured responses give it, and is a close paraphrase otherwise. Messages, count_tokens and each
batch request share `check_body`; thinking is checked per model by `thinking.resolve` and tools by
`tools.check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .wire import APIError, SimRequest, invalid

VERSIONS = ("2023-06-01", "2026-10-21")
LATEST = VERSIONS[-1]
# Removed by API version 2026-10-21 ("even if the value is the default"), reference §1.2.
REMOVED_SAMPLING = ("temperature", "top_p", "top_k")
MB = 1024 * 1024
# Request size limits enforced in front of the API (reference §1.5, 413 request_too_large); the
# batch endpoint checks its own 256 MB limit.
MAX_BODY_BYTES = {"/v1/messages": 32 * MB, "/v1/messages/count_tokens": 32 * MB}
ROLES = ("user", "assistant")


def check_request(request: SimRequest, require_key: bool) -> str:
    """Size, then credentials, then version (the order the edge and the API apply them); the version."""
    limit = MAX_BODY_BYTES.get(request.path.rstrip("/")) if request.method == "POST" else None
    if limit is not None and len(request.body) > limit:
        raise APIError(413, "Request exceeds the maximum allowed number of bytes.")
    if require_key and not api_key(request.headers):
        raise APIError(401, "x-api-key header is required")
    version = request.headers.get("anthropic-version")
    if version is None:
        raise invalid("anthropic-version: header is required")
    if version not in VERSIONS:
        raise invalid(f"anthropic-version: unknown version {version!r}; supported: {', '.join(VERSIONS)}")
    return version


def api_key(headers: Mapping[str, str]) -> str | None:
    """The key a request carries: `x-api-key` (SDK 0.x/1.x, curl) wins over `Authorization: Bearer`
    (SDK 2.x) when both are sent, as observed on the real API (reference §0)."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def parse(request: SimRequest) -> Any:
    """The JSON body, or the API's 400 for one that does not parse."""
    try:
        return request.json()
    except ValueError:
        raise invalid("There was an error parsing the body of your request: invalid JSON") from None


def check_body(params: Any, version: str, *, counting: bool = False) -> None:
    """The model-independent checks of a Messages (or, with `counting`, count_tokens) body."""
    if not isinstance(params, dict):
        raise invalid("request body must be a JSON object")
    for field in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if field not in params:
            raise invalid(f"{field}: Field required")
    if not isinstance(params["model"], str):
        raise invalid("model: Input should be a valid string")
    _check_sampling(params, version)
    if not counting:
        _check_max_tokens(params)
    _check_system(params.get("system"))
    _check_messages(params["messages"], version)
    stops = params.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise invalid("stop_sequences: Input should be a valid list of strings")


def _check_sampling(params: dict, version: str) -> None:
    if version >= "2026-10-21":
        for field in REMOVED_SAMPLING:
            if field in params:
                raise invalid(f"{field}: Extra inputs are not permitted")
        return
    for field, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.0, 1.0)):
        value = params.get(field)
        if value is not None and (not _is_number(value) or not low <= value <= high):
            raise invalid(f"{field}: Input should be a number between {low:g} and {high:g}")
    top_k = params.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 0):
        raise invalid("top_k: Input should be a non-negative integer")


def _check_max_tokens(params: dict) -> None:
    """`max_tokens` >= 0; 0 pre-warms the cache and rules out anything that implies output
    (prompt-caching docs, "Pre-warming the cache", Limitations)."""
    max_tokens = params["max_tokens"]
    if not _is_int(max_tokens) or max_tokens < 0:
        raise invalid("max_tokens: Input should be a non-negative integer")
    if max_tokens:
        return
    output_config = params.get("output_config") or {}
    implies_output = (
        ("stream", params.get("stream") is True),
        ("thinking.type: enabled", (params.get("thinking") or {}).get("type") == "enabled"),
        ("output_config.format", bool(output_config.get("format"))),
        ("a tool_choice that forces tool use",
         (params.get("tool_choice") or {}).get("type") in ("any", "tool")),
    )
    for what, present in implies_output:
        if present:
            raise invalid(f"max_tokens: 0 (cache pre-warming) cannot be combined with {what}, "
                          "which implies output")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise invalid("system: Input should be a valid string or a list of text blocks")
    for i, block in enumerate(system):
        is_text = isinstance(block, dict) and block.get("type") == "text"
        if not is_text or not isinstance(block.get("text"), str):
            raise invalid(f"system.{i}: Input should be a text block")
        if not block["text"].strip():
            raise invalid("system: text content blocks must contain non-whitespace text")


def _check_messages(messages: Any, version: str) -> None:
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")
    last = len(messages) - 1
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        final_assistant = i == last and message["role"] == "assistant"
        if content in ("", []) or content is None:
            if final_assistant and content is not None:
                continue
            raise invalid(f"messages.{i}: all messages must have non-empty content except for the "
                          "optional final assistant message")
        if isinstance(content, list):
            _check_blocks(i, message["role"], content, version)
        elif not isinstance(content, str):
            raise invalid(f"messages.{i}.content: Input should be a valid string or a list of content blocks")
        if final_assistant and _trailing_text(content) != _trailing_text(content).rstrip():
            raise invalid("messages: final assistant content cannot end with trailing whitespace")


def _check_blocks(i: int, role: str, blocks: list, version: str) -> None:
    for j, block in enumerate(blocks):
        where = f"messages.{i}.content.{j}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise invalid(f"{where}: Input should be a content block with a 'type'")
        kind = block["type"]
        if kind == "text":
            if not isinstance(block.get("text"), str) or not block["text"].strip():
                raise invalid("messages: text content blocks must contain non-whitespace text")
            if version >= "2026-10-21" and role == "user" and block.get("citations"):
                raise invalid(f"{where}.citations: citations are not accepted on user text blocks "
                              "in API version 2026-10-21")
        elif kind == "document" and role == "assistant" and version >= "2026-10-21":
            raise invalid(f"{where}: document blocks are not accepted in assistant messages "
                          "in API version 2026-10-21")


def _trailing_text(content: str | list) -> str:
    if isinstance(content, str):
        return content
    last = content[-1] if content else {}
    return last.get("text", "") if last.get("type") == "text" else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
