"""Checks for lab 00 (Start here): pricing a call, comparing prompt sizes, reading a latency summary."""

from __future__ import annotations

import math
from typing import Any

from .. import cost, timing, tokens
from . import hint, passed, question


@question("00.q1")
def call_cost(answer: Any, *, usage: Any, model: str) -> Any:
    """The dollar cost of one response, from its usage and the model's published prices."""
    if not isinstance(answer, (int, float)):
        return hint("give the cost as a number of dollars (a float), not text or an object")
    expected = cost.price(usage, model).total
    if math.isclose(answer, expected, rel_tol=1e-9, abs_tol=1e-12):
        return passed(f"${answer:.6f} for this call")
    if math.isclose(answer, expected * 1_000_000, rel_tol=1e-6):
        return hint("that looks like millionths of a dollar: prices are per million tokens")
    only_output = cost.price({"output_tokens": _field(usage, "output_tokens")}, model).total
    if math.isclose(answer, only_output, rel_tol=1e-9):
        return hint("input tokens are billed too, at their own rate")
    return hint("price both the input and the output tokens of `response.usage` for this model")


@question("00.q2")
def prompt_reduction(answer: Any, *, verbose: str, concise: str, model: str) -> Any:
    """The fraction of tokens the concise prompt saves over the verbose one."""
    if not isinstance(answer, (int, float)):
        return hint("give the reduction as a fraction between 0 and 1, e.g. 0.25 for 25%")
    before, after = tokens.estimate(verbose, model), tokens.estimate(concise, model)
    expected = (before - after) / before
    if math.isclose(answer, expected, abs_tol=1e-9):
        return passed(f"{answer:.0%} fewer tokens")
    if math.isclose(answer, expected * 100, abs_tol=1e-6):
        return hint("give a fraction (0.25), not a percentage (25)")
    if math.isclose(answer, after / before, abs_tol=1e-9):
        return hint("that is what remains, not what was saved")
    return hint("count both prompts' tokens with labkit.tokens for the same model, then compare")


@question("00.q3")
def p95_latency(answer: Any, *, samples: list[float]) -> Any:
    """The 95th-percentile latency of the timed calls."""
    if not isinstance(answer, (int, float)):
        return hint("give the p95 latency in seconds, as a number")
    if len(samples) < 5:
        return hint("time at least five calls so that a percentile means something")
    if math.isclose(answer, timing.percentile(samples, 95), rel_tol=1e-9):
        return passed("the p95 is what your slowest calls look like")
    if math.isclose(answer, timing.percentile(samples, 50), rel_tol=1e-9):
        return hint("that is the median (p50): the question asks for the 95th percentile")
    return hint("read the p95 from your timer's summary()")


def _field(usage: Any, name: str) -> int:
    return usage[name] if isinstance(usage, dict) else getattr(usage, name)


@question("00.demo")
def calls_timed(answer: Any, *, samples: list[float]) -> Any:
    """Lesson 00's demonstration question: how many calls did the timer measure?"""
    if answer == len(samples):
        return passed("checks give instant feedback like this")
    return hint("count the samples your timer collected (one per call)")
