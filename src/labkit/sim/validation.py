"""What the API checks before it generates: body size, credentials, version and request shape.

Error types and status codes follow reference §1.5; message wording follows the real API where the docs
or captured responses give it, and is a close paraphrase otherwise (each says which). Messages,
count_tokens and each batch request share `check_body`; thinking is checked per model by
`thinking.resolve`, tools by `tools.check`, and a prefill by `check_prefill`, once the model is known.

What a body may hold is the installed SDK's (2.16) request types: the fields of `MessageCreateParams`
(or `MessageCountTokensParams`), the content blocks of `ContentBlockParam`, and, only when the
`anthropic-beta` header lists their beta, the fields and blocks that only the beta types have.
`tests/test_sim_validation.py` compares these tables with the SDK's types.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from ..models import ModelProfile
from .counting import image_header
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
# `role: "system"` turns in `messages`: the beta the Claude Code CLI sends with them (its capture, 2.1.197).
MID_CONVERSATION_SYSTEM = "mid-conversation-system-2026-04-07"

# SDK `MessageCreateParams` (`user_profile_id` and `workspace_id` are sent as headers, so they are no
# body fields), plus `stream`.
MESSAGES_FIELDS = frozenset({
    "model", "max_tokens", "messages", "cache_control", "container", "diagnostics", "inference_geo",
    "metadata", "output_config", "service_tier", "speed", "stop_sequences", "stream", "system",
    "thinking", "tool_choice", "tools"})
# SDK `MessageCountTokensParams`: no `max_tokens`, no `stream` (the real endpoint rejects both).
COUNT_FIELDS = frozenset({
    "model", "messages", "cache_control", "output_config", "speed", "system", "thinking", "tool_choice",
    "tools"})
# Fields only the beta request types have, each with the betas that bring it. `context_management`'s
# beta is the one the CLI sends with it, `fallback_credit_token`'s and `fallbacks`' are named in the
# SDK's docstrings, `mcp_servers`' are the MCP connector betas; the others' (ASSUMPTION) are inferred
# from the beta's name in the SDK's `AnthropicBetaParam`. `betas` itself is the header, never a field.
BETA_FIELDS: Mapping[str, tuple[str, ...]] = {
    "context_management": ("context-management-2025-06-27",),
    "mcp_servers": ("mcp-client-2025-04-04", "mcp-client-2025-11-20", "mcp-client-2026-09-15"),
    "fallbacks": ("server-side-fallback-2026-06-01", "server-side-fallback-2026-07-01"),
    "fallback_credit_token": ("fallback-credit-2026-06-01", "fallback-credit-2026-07-01"),
    "compaction": ("compact-2026-01-12", "compact-2026-09-04"),
    "thread": ("message-threads-2026-08-12",),
    "billing_policy": ("user-profiles-billing-2026-10-01",),
}
# The beta count_tokens params' extra fields.
COUNT_BETA_FIELDS = frozenset({"billing_policy", "compaction", "context_management", "mcp_servers"})
# SDK `ContentBlockParam`, in its order: what a user or assistant turn may hold.
BLOCK_TYPES = (
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use",
    "tool_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result", "tool_search_tool_result", "container_upload")
# Blocks only `BetaContentBlockParam` has, with their betas (ASSUMPTION: inferred from the names).
MCP = BETA_FIELDS["mcp_servers"]
BETA_BLOCKS: Mapping[str, tuple[str, ...]] = {
    "mcp_tool_use": MCP, "mcp_tool_result": MCP, "mcp_tool_listing": MCP,
    "compaction": BETA_FIELDS["compaction"],
    "fallback": BETA_FIELDS["fallbacks"],
    "tool_addition": ("mid-conversation-tool-changes-2026-07-01",),
    "tool_removal": ("mid-conversation-tool-changes-2026-07-01",),
    "advisor_tool_result": ("advisor-tool-2026-03-01",),
}
# SDK `Base64ImageSourceParam.media_type`.
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
TTLS = ("5m", "1h")
# The size of the simulator's thinking signatures (`thinking.signature`): a 64-byte digest, then a
# 32-byte digest of it.
SIGNATURE_BYTES = (64, 32)


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


def betas(headers: Mapping[str, str]) -> frozenset[str]:
    """The betas a request opts into: the comma-separated `anthropic-beta` header."""
    return frozenset(b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip())


def check_body(params: Any, version: str, *, counting: bool = False, betas: frozenset[str] = frozenset()) -> None:
    """The model-independent checks of a Messages (or, with `counting`, count_tokens) body; `betas`:
    those the `anthropic-beta` header lists."""
    if not isinstance(params, dict):
        raise invalid("request body must be a JSON object")
    for field in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if field not in params:
            raise invalid(f"{field}: Field required")
    _check_fields(params, version, counting, betas)
    if not isinstance(params["model"], str):
        raise invalid("model: Input should be a valid string")
    _check_sampling(params, version)
    if not counting:
        _check_max_tokens(params)
    _check_system(params.get("system"))
    _check_messages(params["messages"], version, betas)
    _check_ttl_order(params)
    stops = params.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise invalid("stop_sequences: Input should be a valid list of strings")


def check_prefill(params: dict, profile: ModelProfile) -> None:
    """A final assistant turn on a model that cannot continue one (SDK `messages` docstring, "Prefill
    not supported"); the wording is the real API's, as clients quote it."""
    if params["messages"][-1]["role"] == "assistant" and not profile.prefill:
        raise invalid("This model does not support assistant message prefill. "
                      "The conversation must end with a user message.")


def _check_fields(params: dict, version: str, counting: bool, betas: frozenset[str]) -> None:
    """Unknown top-level fields, in the pydantic form the API answers with (reference §1.2)."""
    allowed = COUNT_FIELDS if counting else MESSAGES_FIELDS
    for field in params:
        if field in allowed or (field in REMOVED_SAMPLING and version < "2026-10-21"):
            continue
        if field in BETA_FIELDS and betas.intersection(BETA_FIELDS[field]) and (
                not counting or field in COUNT_BETA_FIELDS):
            continue
        raise invalid(f"{field}: Extra inputs are not permitted")


def _check_sampling(params: dict, version: str) -> None:
    """Sampling ranges on 2023-06-01 (`_check_fields` refuses the fields themselves on 2026-10-21)."""
    if version >= "2026-10-21":
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


def _check_messages(messages: Any, version: str, betas: frozenset[str]) -> None:
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")
    roles = (*ROLES, "system") if MID_CONVERSATION_SYSTEM in betas else ROLES
    last = len(messages) - 1
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in roles:
            raise invalid(f"messages.{i}.role: Input should be {_options(roles)}")
        content = message.get("content")
        final_assistant = i == last and message["role"] == "assistant"
        if content in ("", []) or content is None:
            if final_assistant and content is not None:
                continue
            raise invalid(f"messages.{i}: all messages must have non-empty content except for the "
                          "optional final assistant message")
        if message["role"] == "system":
            _check_system_turn(messages, i)
        elif isinstance(content, list):
            _check_blocks(i, message["role"], content, version, betas)
        elif not isinstance(content, str):
            raise invalid(f"messages.{i}.content: Input should be a valid string or a list of content blocks")
        if final_assistant and _trailing_text(content) != _trailing_text(content).rstrip():
            raise invalid("messages: final assistant content cannot end with trailing whitespace")


def _check_system_turn(messages: list, i: int) -> None:
    """A `role: "system"` turn (SDK `SystemMessageParam`: a string or text blocks), where the docs
    allow one: not first, right after a user turn (or an assistant turn ending in a server tool call),
    then last or followed by an assistant turn (Bedrock's "Mid-conversation system messages" guide;
    the wording is a paraphrase, none being published)."""
    content = messages[i]["content"]
    if isinstance(content, list):
        for j, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
                raise invalid(f"messages.{i}.content.{j}.type: Input should be 'text'")
            if not block["text"].strip():
                raise invalid("messages: text content blocks must contain non-whitespace text")
    elif not isinstance(content, str):
        raise invalid(f"messages.{i}.content: Input should be a valid string or a list of text blocks")
    if i == 0:
        raise invalid("messages.0: a system message cannot be the first message; use the top-level "
                      "`system` parameter for instructions that apply from the start")
    after = _role(messages[i + 1]) if i + 1 < len(messages) else "assistant"
    if after == "system":
        raise invalid(f"messages.{i + 1}: consecutive system messages are not allowed")
    before = messages[i - 1]
    if before["role"] == "assistant" and _last_kind(before.get("content")) != "server_tool_use":
        raise invalid(f"messages.{i}: a system message must immediately follow a user message or an "
                      "assistant message that ends in a server tool use")
    if after != "assistant":
        raise invalid(f"messages.{i}: a system message must be the last message or be followed by an "
                      "assistant message")


def _check_blocks(i: int, role: str, blocks: list, version: str, betas: frozenset[str]) -> None:
    for j, block in enumerate(blocks):
        where = f"messages.{i}.content.{j}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise invalid(f"{where}: Input should be a content block with a 'type'")
        kind = block["type"]
        if kind not in BLOCK_TYPES and not betas.intersection(BETA_BLOCKS.get(kind, ())):
            # Pydantic's discriminated-union error, as the API words it for a block type it does not know.
            known = (*BLOCK_TYPES, *(k for k, need in BETA_BLOCKS.items() if betas.intersection(need)))
            raise invalid(f"{where}: Input tag '{kind}' found using 'type' does not match any of the "
                          f"expected tags: {', '.join(repr(k) for k in known)}")
        if kind == "text":
            if not isinstance(block.get("text"), str) or not block["text"].strip():
                raise invalid("messages: text content blocks must contain non-whitespace text")
            if version >= "2026-10-21" and role == "user" and block.get("citations"):
                raise invalid(f"{where}.citations: citations are not accepted on user text blocks "
                              "in API version 2026-10-21")
        elif kind == "document" and role == "assistant" and version >= "2026-10-21":
            raise invalid(f"{where}: document blocks are not accepted in assistant messages "
                          "in API version 2026-10-21")
        elif kind == "thinking" and not _authentic(block.get("signature")):
            raise invalid(f"{where}: Invalid `signature` in `thinking` block")
        for at, image in _images(where, block):
            _check_image(at, image)


def _images(where: str, block: dict) -> Iterator[tuple[str, dict]]:
    """The image blocks in a block (itself, or inside a tool result), each with its location."""
    if block.get("type") == "image":
        yield f"{where}.image", block
    elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        for k, inner in enumerate(block["content"]):
            if isinstance(inner, dict) and inner.get("type") == "image":
                yield f"{where}.tool_result.content.{k}.image", inner


def _check_image(where: str, block: dict) -> None:
    """A base64 image: one of the four media types, and data that really is an image of that type
    (the API's own words, as clients quote them)."""
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "base64":
        return
    media_type = source.get("media_type")
    if media_type not in IMAGE_MEDIA_TYPES:
        raise invalid(f"{where}.source.base64.media_type: Input should be {_options(IMAGE_MEDIA_TYPES)}")
    data = source.get("data")
    found = image_header(data) if isinstance(data, str) else None
    if found is None:
        raise invalid("Could not process image")
    if found[0] != media_type:
        raise invalid(f"{where}.source.base64.data: Image does not match the provided media type {media_type}")


def _authentic(signature: Any) -> bool:
    """Whether a thinking block's signature is one the simulator made (`thinking.signature`): a
    changed character breaks its inner digest. The API answers a tampered or foreign one with 400
    "Invalid `signature` in `thinking` block" (as clients quote it); redacted thinking's `data` stays
    opaque and is not checked."""
    if not isinstance(signature, str):
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error:
        return False
    head, tail = SIGNATURE_BYTES
    return len(raw) == head + tail and hashlib.blake2b(raw[:head], digest_size=tail).digest() == raw[head:]


def _check_ttl_order(params: dict) -> None:
    """Breakpoints in prefix order (tools, system, messages; the automatic one last) may not go from a
    5-minute to a 1-hour lifetime: the API's rule and wording, as captured in a client's logs (the
    prompt-caching docs state the rule: longer TTLs first)."""
    seen_5m = False
    for where, marker in _markers(params):
        ttl = marker.get("ttl", "5m")
        if ttl == "1h" and seen_5m:
            raise invalid(f"{where}.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' "
                          "cache_control block. Blocks are processed in the following order: `tools`, "
                          "`system`, `messages`.")
        seen_5m = seen_5m or ttl == "5m"


def _markers(params: dict) -> Iterator[tuple[str, dict]]:
    """Each well-formed `cache_control` marker with its location, in prefix order (malformed ones
    are the prompt cache's to refuse)."""
    places: list[tuple[str, Any]] = [(f"tools.{i}", t) for i, t in enumerate(params.get("tools") or ())]
    system = params.get("system")
    if isinstance(system, list):
        places += [(f"system.{i}", block) for i, block in enumerate(system)]
    for i, message in enumerate(params["messages"]):
        if isinstance(message.get("content"), list):
            places += [(f"messages.{i}.content.{j}", b) for j, b in enumerate(message["content"])]
    places.append(("", {"cache_control": params.get("cache_control")}))
    for where, item in places:
        marker = item.get("cache_control") if isinstance(item, dict) else None
        if isinstance(marker, dict) and marker.get("type") == "ephemeral" and marker.get("ttl", "5m") in TTLS:
            yield f"{where}.cache_control" if where else "cache_control", marker


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, dict) else None


def _last_kind(content: Any) -> str | None:
    last = content[-1] if isinstance(content, list) and content else None
    return last.get("type") if isinstance(last, dict) else None


def _options(values: tuple[str, ...]) -> str:
    """Pydantic's list of allowed literals: 'a', 'b' or 'c'."""
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _trailing_text(content: str | list) -> str:
    if isinstance(content, str):
        return content
    last = content[-1] if content else {}
    return last.get("text", "") if last.get("type") == "text" else ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
