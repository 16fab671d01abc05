"""Checks for lab 06 (Token efficiency): reading a cost audit, choosing a data format by measured
tokens, and a brief recipe judged on held-out tasks with an honest verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from . import hint, passed, question

SAVING = 0.40      # the guide's "40% token reduction", cost-weighted
QUALITY = 0.85     # the guide's "quality scores > 0.85"
TOLERANCE = 0.0005


@question("06.q1")
def costliest_block(answer: Any, *, request: Mapping[str, Any], usage: Mapping[str, Any]) -> Any:
    """The audit category that costs the most dollars in the call, and its share of the call's dollars."""
    from .. import tokens

    if not isinstance(answer, Mapping) or set(answer) != {"category", "share"} or \
            not isinstance(answer["category"], str) or not isinstance(answer["share"], (int, float)):
        return hint('answer with {"category": ..., "share": ...}, the share a fraction of the dollars')
    table = tokens.audit(request, {"usage": dict(usage)})
    by_category = table.groupby("category")["dollar share"].sum()
    top = str(by_category.idxmax())
    if answer["category"] != top:
        biggest = str(table.groupby("category")["tokens"].sum().idxmax())
        if answer["category"] == biggest:
            return hint("that block has the most tokens; the question asks which costs the most dollars")
        return hint("price each block at its own rate (tokens.audit does): which category has the largest dollars?")
    if answer["share"] > 1:
        return hint("give the share as a fraction (0.85), not a percentage")
    if not math.isclose(answer["share"], float(by_category[top]), abs_tol=TOLERANCE):
        return hint(f"{top} is right; its share is its dollars over the call's dollars")
    return passed(f"{top}: {by_category[top]:.0%} of the dollars")


@question("06.q2", points=2)
def cheapest_format(answer: Any, *, records: Sequence[Mapping[str, Any]], model: str) -> Any:
    """The format that sends `records` in the fewest tokens for `model`, and its saving against pretty JSON."""
    from .. import efficiency, tokens

    if not isinstance(answer, Mapping) or set(answer) != {"format", "saved"} or \
            not isinstance(answer["saved"], (int, float)):
        return hint('answer with {"format": ..., "saved": ...}, the saving a fraction of JSON\'s tokens')
    sizes = {fmt: tokens.estimate(efficiency.encode(list(records), fmt), model) for fmt in efficiency.FORMATS}
    best = min(sizes, key=lambda fmt: sizes[fmt])
    if answer["format"] not in sizes:
        return hint(f"the format is one of {', '.join(efficiency.FORMATS)}")
    if answer["format"] != best:
        return hint(f"count every format for {model} (tokens.estimate of efficiency.encode): "
                    f"{answer['format']} is not the smallest")
    saved = 1 - sizes[best] / sizes["json"]
    if not math.isclose(answer["saved"], saved, abs_tol=TOLERANCE):
        return hint("the saving is 1 - its tokens / pretty JSON's tokens")
    return passed(f"{best}: {saved:.0%} fewer tokens than pretty JSON for {model}")


@question("06.q3", points=3)
def recipe_verdict(answer: Any, *, rows: Sequence[Mapping[str, Any]]) -> Any:
    """A brief recipe that saves at least 40% of the dollars on the held-out briefs with no class below
    its baseline (lower 95% bound), and an honest verdict on the guide's whole claim for it."""
    from .. import efficiency, quality
    from ..errors import UsageError

    if not isinstance(answer, Mapping) or set(answer) != {"recipe", "claim_holds"} or \
            not isinstance(answer["claim_holds"], bool) or not isinstance(answer["recipe"], Mapping):
        return hint('answer with {"recipe": {"format": ..., "lint": ..., "compress": ..., "words": ...}, '
                    '"claim_holds": True or False}')
    try:
        efficiency.Recipe(**dict(answer["recipe"]))
    except (TypeError, UsageError) as exc:
        return hint(f"not a recipe: {exc}")
    rows = list(rows)
    if not rows:
        return hint("run the held-out cell: it measures your recipe")
    tasks = [quality.Task(r["task"], r["class"], "", (), "held_out") for r in rows]
    saved = 1 - sum(r["dollars"] for r in rows) / sum(r["baseline_dollars"] for r in rows)
    comparison = quality.compare(tasks, [r["baseline_quality"] for r in rows], [r["quality"] for r in rows])
    worst_kind, worst = comparison.worst()
    if saved < SAVING:
        return hint(f"on the held-out briefs your recipe saves {saved:.0%} of the dollars: the target is {SAVING:.0%}")
    if worst.low < 0:
        return hint(f"{worst_kind} may fall below its baseline (lower 95% bound {worst.low:+.3f}): keep what it needs")
    mean = sum(r["quality"] for r in rows) / len(rows)
    holds = saved >= SAVING and mean > QUALITY and comparison.kept(0.0)
    if answer["claim_holds"] != holds:
        return hint(f"look again at the claim: '40% fewer tokens, quality > 0.85' needs the saving ({saved:.0%}) "
                    f"and the mean quality ({mean:.3f}) on these briefs")
    return passed(f"{saved:.0%} of the dollars saved on held-out briefs, mean quality {mean:.3f}: the claim "
                  f"{'holds' if holds else 'does not hold'}, and you said so")
