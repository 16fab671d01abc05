"""Token counts inside the simulator, bound to one model's tokenizer ratio.

The formula is `labkit.tokens`' own (cl100k BPE x the model's ratio, plus a per-message framing
overhead), so `usage.input_tokens`, the count_tokens endpoint and the prompt cache's prefix counts
agree with `labkit.tokens.estimate_request` to the token. It differs only in taking the ratio from the
simulator's own catalogue instead of looking the model up in the global configuration on every call:
that lookup dominated the request path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from .. import tokens


@functools.lru_cache(maxsize=1 << 16)
def text_tokens(text: str, ratio: float) -> int:
    """Estimated tokens of `text` for a model whose tokenizer counts `ratio` x cl100k tokens (cached:
    answers are made of corpus sentences, counted over and over)."""
    if not text:
        return 0
    return round(tokens.bpe_count(text) * ratio)


def request_tokens(params: Mapping[str, Any], ratio: float) -> int:
    """Estimated input tokens of a Messages request: tools, system and messages."""
    total = 0
    for tool in params.get("tools") or ():
        total += text_tokens(json.dumps(tool, sort_keys=True, default=str), ratio)
    system = params.get("system")
    if system:
        total += text_tokens(tokens.content_text(system), ratio) + tokens.MESSAGE_OVERHEAD
    for message in params.get("messages") or ():
        total += text_tokens(tokens.content_text(message.get("content", "")), ratio) + tokens.MESSAGE_OVERHEAD
    return total
