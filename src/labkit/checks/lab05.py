"""Checks for lab 05 (Thinking mode optimisation): spotting exhausted answers, measuring a policy
against the honest baseline, and a decision table judged on held-out tasks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .. import quality
from ..errors import UsageError
from . import hint, passed, question

SAVING = 0.30        # the guide's "30% faster"
MARGIN = 0.02        # the course's "quality kept": every class's lower 95% bound above -MARGIN
WRECKED = 0.05       # a class whose mean quality falls by more than this is not a policy anyone ships
TOLERANCE = 0.0005   # answers given to three decimals still match


@question("05.q1")
def exhausted(answer: Any, *, caps: Sequence[int], stop_reasons: Sequence[str], texts: Sequence[str]) -> Any:
    """The `max_tokens` values whose answer was exhausted: stopped at max_tokens with no text."""
    if not isinstance(answer, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in answer):
        return hint("give a list of the max_tokens values (integers) whose answer was exhausted")
    truth = [cap for cap, stop, text in zip(caps, stop_reasons, texts) if stop == "max_tokens" and not text]
    if sorted(answer) == truth:
        return passed(f"{len(truth)} of {len(caps)} answers had no text: thinking used up max_tokens")
    if any(stop == "max_tokens" and text for stop, text in zip(stop_reasons, texts)) and \
            sorted(answer) == [c for c, s in zip(caps, stop_reasons) if s == "max_tokens"]:
        return hint("a cut answer that still has some text is not exhausted: look at the text too")
    return hint("an exhausted answer has stop_reason 'max_tokens' and no text block at all")


def _policy(levels: Any) -> Any:
    from .. import thinking

    if not isinstance(levels, Mapping) or not all(isinstance(v, str) for v in levels.values()):
        return None, hint('give the policy as a dict of task class to level, e.g. {"lookup": "off", ...}')
    try:
        return thinking.Policy(dict(levels)), None
    except UsageError as exc:
        return None, hint(str(exc))


@question("05.q2", points=2)
def baseline_savings(answer: Any, *, rows: Sequence[Mapping[str, Any]], policy: Mapping[str, str]) -> Any:
    """The output tokens the policy saves against the default effort, and against `high` everywhere."""
    from .. import thinking

    if not isinstance(answer, Mapping) or set(answer) != {"default", "high"} or \
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in answer.values()):
        return hint('answer with a dict of fractions: {"default": ..., "high": ...}')
    chosen, problem = _policy(policy)
    if problem is not None:
        return problem
    expected = thinking.evaluate(list(rows), chosen).output_tokens_saved
    high = thinking.evaluate(list(rows), chosen, baseline="high").output_tokens_saved
    if any(v > 1 for v in answer.values()):
        return hint("give fractions (0.37), not percentages (37)")
    if not math.isclose(answer["default"], expected, abs_tol=TOLERANCE):
        return hint("sum the policy's output tokens and the default level's over the same tasks and repeats: "
                    "1 - policy / default")
    if not math.isclose(answer["high"], high, abs_tol=TOLERANCE):
        return hint("the same saving, with 'high' on every task as the baseline")
    return passed(f"{expected:.1%} fewer output tokens than the default effort, {high:.1%} fewer than 'high': "
                  "a baseline that overthinks makes any policy look good")


@question("05.q3", points=3)
def decision_table(answer: Any, *, rows: Sequence[Mapping[str, Any]]) -> Any:
    """A decision table (class -> level) that saves at least 30% of the output tokens on the held-out
    tasks without wrecking any class, and an honest verdict on the guide's claim for it."""
    from .. import thinking

    if not isinstance(answer, Mapping) or set(answer) != {"policy", "claim_holds"} or \
            not isinstance(answer["claim_holds"], bool):
        return hint('answer with {"policy": {class: level, ...}, "claim_holds": True or False}')
    chosen, problem = _policy(answer["policy"])
    if problem is not None:
        return problem
    missing = [kind for kind in quality.CLASSES if kind not in chosen.levels]
    if missing:
        return hint(f"decide a level for every class; missing: {', '.join(missing)}")
    try:
        verdict = thinking.evaluate(list(rows), chosen)
    except UsageError:
        return hint("the held-out sweep has no rows at one of your levels: use the levels it swept")
    if verdict.output_tokens_saved < SAVING:
        return hint(f"on the held-out tasks your table saves {verdict.output_tokens_saved:.0%} of the output "
                    f"tokens: the target is {SAVING:.0%}")
    wrecked = {kind: iv.estimate for kind, iv in verdict.comparison.by_class.items() if iv.estimate < -WRECKED}
    if wrecked:
        kind, loss = min(wrecked.items(), key=lambda item: item[1])
        return hint(f"{kind} loses {-loss:.3f} of quality on average on the held-out tasks: think more there")
    holds = verdict.met(SAVING, MARGIN)
    if answer["claim_holds"] != holds:
        worst_kind, worst = verdict.comparison.worst()
        return hint(f"look again at the claim: '30% faster, quality kept' needs every class's lower 95% bound "
                    f"above -{MARGIN} (the worst, {worst_kind}, is {worst.low:+.3f}) and both savings "
                    f"(seconds {verdict.seconds_saved:.0%}, tokens {verdict.output_tokens_saved:.0%})")
    return passed(f"{verdict.output_tokens_saved:.0%} fewer output tokens on held-out tasks; the claim "
                  f"{'holds' if holds else 'does not hold'} for this table, and you said so")
