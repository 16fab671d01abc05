"""Checks for lab 03 (Parallel research): design three independent agents, run them at once, measure
the time saved against sequential, and compare it with the ideal set by the critical path."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import config
from ..sim.content import load_corpus
from . import hint, passed, question

TARGET = 0.30  # the guide's Activity 3 criterion: "30%+ faster than sequential"
TOLERANCE = 0.006  # answers rounded to two decimals still pass


@question("03.q1")
def three_agent_design(answer: Any) -> Any:
    """Three research agents, each with its own prompt naming at least one topic of the corpus."""
    if not isinstance(answer, dict):
        return hint("give a dict that maps each agent's name to its prompt, e.g. {\"research\": \"...\", ...}")
    if len(answer) != 3:
        return hint(f"the pattern has three agents; your dict has {len(answer)}")
    prompts = list(answer.values())
    if not all(isinstance(p, str) and p.strip() for p in prompts):
        return hint("each agent's prompt is a non-empty string")
    if len({p.strip().lower() for p in prompts}) < 3:
        return hint("two agents have the same prompt: each agent needs its own job")
    corpus = load_corpus(config.current().data_dir / "corpus" / "topics.yaml")
    topics = [frozenset(c.id for c in corpus.match(p)) for p in prompts]
    if not all(topics):
        return hint("every prompt should name at least one of the show's topics (see the list above), "
                    "so that the agent researches something the episode needs")
    if len(set(topics)) == 1:
        return hint("all three agents research exactly the same topics: give each its own angle or topic")
    return passed("three independent agents, each with its own research job")


@question("03.q2")
def ran_in_parallel(answer: Any) -> Any:
    """The agents' [start, end] intervals: all three in flight at the same moment."""
    if not isinstance(answer, (list, tuple)) or len(answer) != 3:
        return hint("give one [start, end] pair per agent: three pairs, from each result's started and finished")
    try:
        pairs = [(float(start), float(end)) for start, end in answer]
    except (TypeError, ValueError):
        return hint("each item is a pair of numbers: [result.started, result.finished]")
    if any(end < start for start, end in pairs):
        return hint("an interval ends before it starts: use [started, finished], in that order")
    if max(start for start, _ in pairs) >= min(end for _, end in pairs):
        return hint("the three agents were not all running at the same time: run them with a concurrency "
                    "of at least 3")
    return passed("all three agents were in flight at once")


@question("03.q3")
def time_saved(answer: Any, *, sequential: float, parallel: float | None) -> Any:
    """The share of the sequential time saved by the parallel run: 1 - parallel / sequential."""
    if parallel is None:
        return hint("run the agents in parallel first (question 2): this question compares the two runs")
    if not isinstance(answer, (int, float)) or isinstance(answer, bool):
        return hint("give the time saved as a fraction, e.g. 0.4 for 40% less time")
    expected = 1 - parallel / sequential
    if math.isclose(answer, expected, abs_tol=TOLERANCE):
        verdict = "meets" if answer >= TARGET else "does NOT meet"
        return passed(f"{answer:.0%} less time than sequential: {verdict} the guide's 30% target")
    if math.isclose(answer, expected * 100, abs_tol=TOLERANCE * 100):
        return hint("give a fraction (0.4), not a percentage (40)")
    if math.isclose(answer, sequential / parallel, rel_tol=0.01):
        return hint("that is the speed-up factor; the guide's \"faster\" is the share of time saved")
    if math.isclose(answer, parallel / sequential, abs_tol=TOLERANCE):
        return hint("that is the share of the time that remains, not the share saved")
    return hint("compare the two runs' elapsed times: what fraction of the sequential time did the parallel run save?")


@question("03.q4")
def ideal_saving(answer: Any, *, seconds: Sequence[float]) -> Any:
    """The best possible saving for independent agents: 1 - slowest / sum (the critical path)."""
    if not isinstance(answer, (int, float)) or isinstance(answer, bool):
        return hint("give the ideal time saved as a fraction between 0 and 1")
    expected = 1 - max(seconds) / sum(seconds)
    if math.isclose(answer, expected, abs_tol=TOLERANCE):
        return passed("no schedule can finish before the slowest agent: that is the critical path")
    if math.isclose(answer, expected * 100, abs_tol=TOLERANCE * 100):
        return hint("give a fraction, not a percentage")
    if math.isclose(answer, 1 - 1 / len(seconds), abs_tol=TOLERANCE):
        return hint("that assumes all agents take equally long: use the agents' measured times")
    if math.isclose(answer, 1 - min(seconds) / sum(seconds), abs_tol=TOLERANCE):
        return hint("the parallel run ends when its slowest agent does, not its fastest")
    return hint("with unlimited parallelism the run still lasts as long as its slowest agent: "
                "compare that with the sum of all the agents' times")
