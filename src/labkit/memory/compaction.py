"""Compaction: replace a conversation with the model's own summary of it, as `/compact` does.

The summary is a real `client.messages.create` call: the conversation so far, then one instruction
asking to compact it. It costs a request (input: the whole conversation; output: the summary) and
its time, and the summary keeps only what the model chose to keep. The simulator answers such a
request with a summary-kind answer (docs/simulator.md, "Content"): sentences about the concepts the
conversation names, not a faithful digest of it, so what survives compaction is measured, not assumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from .. import cost
from ..timing import Timer
from .tracker import usage_tokens

# Words the simulator reads as a summary request ("compact", "summarise"), and nothing that would ask
# for another kind of answer (outline, review, script...).
INSTRUCTION = ("Compact the conversation so far: summarise the facts, decisions and open tasks the "
               "team needs to carry on, and leave out tool logs and superseded drafts.")
SUMMARY_PREFIX = "Summary of the session so far (compacted): "
MAX_SUMMARY_TOKENS = 1000


@dataclasses.dataclass(frozen=True)
class Compaction:
    """One compaction call: the summary that replaces the conversation, and what the call cost."""

    summary: str
    tokens_before: int
    usage: dict[str, Any]
    seconds: float
    model: str

    @property
    def cost(self) -> cost.Cost:
        return cost.price(self.usage, self.model)


def compact(client: Any, *, model: str, system: str, messages: Sequence[dict[str, Any]],
            max_tokens: int = MAX_SUMMARY_TOKENS) -> Compaction:
    """Ask the model to summarise `messages` (under the same `system`) and return its summary."""
    timer = Timer("compaction")
    request = [*messages, {"role": "user", "content": INSTRUCTION}]
    params = {"model": model, "max_tokens": max_tokens, "messages": request}
    if system:
        params["system"] = system
    with timer:
        response = client.messages.create(**params)
    text = "".join(block.text for block in response.content if block.type == "text")
    usage = response.usage.model_dump()
    return Compaction(summary=text, tokens_before=usage_tokens(usage), usage=usage, seconds=timer.last,
                      model=model)
