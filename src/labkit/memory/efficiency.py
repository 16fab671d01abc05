"""Context efficiency, defined so that it can be measured: the share of context tokens a task needs.

The guide never defines "context efficiency". It reports "Context efficiency: 0.85 (target: >0.80)"
without a measurement (Section 2), sets ">85% efficiency" as the target for "Context Window
Utilization", measures context as `wc -c` bytes of memory files (Sections 2 and 7: bytes on disk, not
tokens in the window), and its `PerformanceAnalyzer` fills `context_efficiency` with the mean tool
success rate. This module's definition, for one request r of a work session:

    context(r)     the sentences of r's prompt (system and messages), every occurrence counted
    needed(r)      the sentences of the blocks the session still needs at r: the always-loaded brief,
                   r's instruction, and every block that r or a later step of the session reads
    efficiency(r)  tokens of the distinct sentences of context(r) that are in needed(r)
                   / tokens of context(r)
    kept(r)        tokens of r's own inputs that are present in context(r) / tokens of r's own inputs

A repeated sentence counts as needed once, so duplicates are waste. Over a workload both figures are
token-weighted (sum of numerators / sum of denominators), so a long request weighs as much as the
tokens it is billed for. Tokens are `labkit.tokens` estimates per sentence; message framing is left
out. Which blocks a step reads is part of the workload's script (`labkit.memory.workload`), an
assumption stated there. Efficiency alone rewards throwing context away, so it is always reported
with `kept`: compaction that raises efficiency by dropping what a step needed shows up as `kept` < 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .. import tokens
from ..sim.content import split_sentences
from .tracker import ContextError


@dataclasses.dataclass(frozen=True)
class Measure:
    """Token tallies of one request (or, summed, of many): see the module docstring."""

    context: int = 0
    needed: int = 0
    inputs: int = 0
    kept: int = 0

    @property
    def efficiency(self) -> float:
        if not self.context:
            raise ContextError("no context tokens to measure: run at least one request with some context")
        return self.needed / self.context

    @property
    def kept_share(self) -> float:
        """The share of the steps' inputs that were in their context (1.0 when they had none)."""
        return self.kept / self.inputs if self.inputs else 1.0

    def __add__(self, other: "Measure") -> "Measure":
        return Measure(self.context + other.context, self.needed + other.needed,
                       self.inputs + other.inputs, self.kept + other.kept)


def sentences(text: str) -> list[str]:
    """The units efficiency counts: sentences, without the labels of scripts, outlines and lists."""
    return split_sentences(text)


def measure(context: Iterable[str], needed: Iterable[str], inputs: Iterable[str],
            model: str | None = None) -> Measure:
    """Tally one request: `context` are the texts in its prompt, `needed` the texts the session still
    needs, `inputs` the texts this step reads (all as whole blocks; they are split into sentences)."""
    present = [s for text in context for s in sentences(text)]
    distinct = set(present)
    wanted = {s for text in needed for s in sentences(text)}
    own = {s for text in inputs for s in sentences(text)}
    counts = {u: tokens.estimate(u, model) for u in distinct | wanted | own}

    def size(units: Iterable[str]) -> int:
        return sum(counts[u] for u in units)

    return Measure(context=size(present), needed=size(distinct & wanted),
                   inputs=size(own), kept=size(own & distinct))


def total(measures: Iterable[Measure]) -> Measure:
    """The token-weighted tally of many requests; an error for none (an empty session measures nothing)."""
    items = list(measures)
    if not items:
        raise ContextError("no requests to measure: the session list or a session is empty")
    return sum(items, Measure())
