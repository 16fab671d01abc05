"""Lab 06's checks: the right answers pass, and the tempting wrong ones get the hint that points at them."""

from __future__ import annotations

import pytest

import labkit
from labkit import checks, efficiency, tokens

pytestmark = pytest.mark.usefixtures("offline")


def test_q1_asks_for_dollars_not_tokens() -> None:
    request = {"model": "claude-haiku-5-5", "max_tokens": 4000,
               "system": [{"type": "text", "text": efficiency.INSTRUCTIONS * 20, "cache_control": {"type": "ephemeral"}}],
               "messages": [{"role": "user", "content": "Explain chaos theory for the host."}]}
    client = labkit.client(max_retries=0)
    client.messages.create(**request)
    usage = client.messages.create(**request).usage.model_dump()
    table = tokens.audit(request, {"usage": usage})
    dollars = table.groupby("category")["dollar share"].sum()
    most_tokens = table.groupby("category")["tokens"].sum().idxmax()
    right = {"category": dollars.idxmax(), "share": float(dollars.max())}
    assert checks.evaluate("06.q1", right, request=request, usage=usage).passed
    assert most_tokens != right["category"]  # the lesson's point: the biggest block is not the costliest
    wrong = checks.evaluate("06.q1", {"category": most_tokens, "share": 0.5}, request=request, usage=usage)
    assert "most tokens" in wrong.message


def test_q2_wants_the_smallest_format_and_its_saving() -> None:
    records, model = list(efficiency.EPISODES), "claude-haiku-5-5"
    sizes = {f: tokens.estimate(efficiency.encode(records, f), model) for f in efficiency.FORMATS}
    best = min(sizes, key=sizes.get)
    assert checks.evaluate("06.q2", {"format": best, "saved": 1 - sizes[best] / sizes["json"]},
                           records=records, model=model).passed
    assert "not the smallest" in checks.evaluate("06.q2", {"format": "yaml", "saved": 0.3}, records=records,
                                                 model=model).message


def rows(saved: float, quality_change: float) -> list[dict]:
    kinds = ["lookup", "single-concept", "multi-concept", "multi-step"]
    return [{"task": f"t{i}", "class": kinds[i % 4], "baseline_dollars": 1.0, "dollars": 1.0 - saved,
             "baseline_quality": 0.5 + 0.01 * (i % 3), "quality": 0.5 + 0.01 * (i % 3) + quality_change}
            for i in range(16)]


def test_q3_wants_the_savings_no_class_below_baseline_and_an_honest_verdict() -> None:
    recipe = {"format": "csv", "lint": True, "compress": True, "words": 60}
    good = rows(0.5, 0.2)  # mean quality 0.71: the claim's 0.85 is not reached
    assert checks.evaluate("06.q3", {"recipe": recipe, "claim_holds": False}, rows=good).passed
    assert "look again at the claim" in checks.evaluate("06.q3", {"recipe": recipe, "claim_holds": True},
                                                        rows=good).message
    assert "target is 40%" in checks.evaluate("06.q3", {"recipe": recipe, "claim_holds": False},
                                              rows=rows(0.2, 0.2)).message
    assert "below its baseline" in checks.evaluate("06.q3", {"recipe": recipe, "claim_holds": False},
                                                   rows=rows(0.5, -0.1)).message
    assert "not a recipe" in checks.evaluate("06.q3", {"recipe": {**recipe, "format": "xml"}, "claim_holds": False},
                                             rows=good).message
