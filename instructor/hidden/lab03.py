"""Hidden checks for lab 03 (Parallel research) — instructor only.

Follows instructor/hidden/lab00.py: recompute, do not believe. Questions 2-4 are timings of the
released lab's three agents (`AGENTS`, sent with the lab's `MODEL` and `MAX_TOKENS`). Offline they
are modelled seconds on the simulated clock: exact, and the same on an idle machine, a loaded one
or beside a busy classmate. So each is compared exactly (to rounding) with what the grader's own
simulator (grading seed) says: an agent's time is its request's modelled latency, a sequential run
the sum, a parallel run the slowest. The exported contexts (`sequential`, `parallel`, `seconds`) are
the student's claims, checked against those figures here.

Question 1 is a design (a dict of prompts): checked for independence and distinct jobs.
Answers arrive as JSON data: types are checked before use.
"""

import functools
import re
from pathlib import Path

from labkit.checks import hint, passed
from labkit.grading.hidden import Given, context, hidden, is_number, isclose

TARGET = 0.30          # the guide's Activity 3 criterion, as in labkit.checks.lab03
TOLERANCE = 0.006      # the visible checks' rounding tolerance (two decimals)
SECONDS_TOLERANCE = 0.006  # a time given to two decimals still matches


# --------------------------------------------------------------------------- the grader's latencies

@functools.lru_cache(maxsize=8)
def _latencies(seed: int, data_dir: str, model: str, max_tokens: int, prompts: tuple) -> tuple:
    from labkit.grading import reference

    out = []
    for prompt in prompts:
        request = {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
        out.append(reference.modelled(request, reference.simulator(seed, Path(data_dir))).latency)
    return tuple(out)


def modelled(given: Given) -> list[float]:
    """The modelled latency of each of the released lab's agents, in the lab's order."""
    agents = given.constants["AGENTS"]
    return list(_latencies(given.seed, str(given.data_dir), given.parameters["MODEL"],
                           int(given.parameters["MAX_TOKENS"]), tuple(agents.values())))


def _matches(measured, expected: float) -> bool:
    """A reported time of a call (or run) whose modelled time is `expected` (to two decimals)."""
    return is_number(measured) and isclose(measured, expected, rel=0, abs_tol=SECONDS_TOLERANCE)


def _ideal(latencies: list[float]) -> float:
    return 1 - max(latencies) / sum(latencies)


# --------------------------------------------------------------------------- question 1

_DEPENDENCY_PHRASES = ("previous agent", "other agent", "another agent", "first agent", "second agent",
                       "third agent", "agent's output", "agents' output", "agent's result", "agents' result",
                       "agent's findings", "agents' findings", "previous step", "previous output",
                       "earlier step", "after the other")


def _prompts(answer) -> dict | None:
    if not isinstance(answer, dict) or len(answer) != 3:
        return None
    if not all(isinstance(k, str) and k.strip() and isinstance(v, str) and v.strip() for k, v in answer.items()):
        return None
    return answer


@hidden("03.q1", points=0.5, visibility="always",
        message="no agent's prompt waits for another agent (by name or as 'the previous agent's output'), "
                "so the three can run at the same time")
def agents_are_independent(answer, given: Given):
    agents = _prompts(answer)
    if agents is None:
        return hint("give three named agents, each with a non-empty prompt")
    for name, prompt in agents.items():
        text = prompt.lower()
        others = [other.strip().lower() for other in agents if other != name and len(other.strip()) >= 3]
        if any(phrase in text for phrase in _DEPENDENCY_PHRASES) or \
                any(f"{other} agent" in text or f"{other}'s" in text for other in others):
            return hint(f"agent {name!r} depends on another agent's work: independent agents cannot wait "
                        "for each other")
    return passed()


def _words(text: str) -> set:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@hidden("03.q1", points=0.5, visibility="never",
        message="no two agents' prompts are near-copies of each other (each agent has its own job)")
def distinct_jobs(answer, given: Given):
    agents = _prompts(answer)
    if agents is None:
        return False
    words = [_words(p) for p in agents.values()]
    for i in range(3):
        for j in range(i + 1, 3):
            union = words[i] | words[j]
            if not union or len(words[i] & words[j]) / len(union) >= 0.8:
                return hint("two agents' prompts say almost the same thing: give each its own job")
    return passed()


# --------------------------------------------------------------------------- question 2

def _intervals(answer) -> list | None:
    if not isinstance(answer, list) or len(answer) != 3:
        return None
    if not all(isinstance(p, list) and len(p) == 2 and all(is_number(x) for x in p) for p in answer):
        return None
    return answer


@hidden("03.q2", points=1, visibility="after_deadline",
        message="each agent's interval, in the lab's order, lasts the simulator's modelled latency of "
                "that agent's call")
def intervals_match_the_calls(answer, given: Given):
    pairs = _intervals(answer)
    if pairs is None:
        return hint("give three [started, finished] pairs of numbers, one per agent, in the lab's order")
    if not all(_matches(end - start, m) for (start, end), m in zip(pairs, modelled(given))):
        return hint("some interval is not the time that agent's call took: read each result's started and finished")
    return passed()


@hidden("03.q2", points=0.5, visibility="never",
        message="the run's intervals start at its origin and span exactly the slowest agent")
def span_is_parallel(answer, given: Given):
    pairs = _intervals(answer)
    if pairs is None:
        return False
    latencies = modelled(given)
    span = max(end for _, end in pairs) - min(start for start, _ in pairs)
    return min(start for start, _ in pairs) >= 0 and _matches(span, max(latencies))


# --------------------------------------------------------------------------- question 3

@context("03.q3")
def modelled_runs(given: Given) -> dict:
    """The two runs' elapsed seconds as an honest notebook measures them: the agents one after
    another take the sum of their modelled latencies, all three at once the slowest."""
    latencies = modelled(given)
    return {"sequential": sum(latencies), "parallel": max(latencies)}


@hidden("03.q3", points=0.5, visibility="always",
        message="the saving meets the guide's 30% target and is no more than the agents' critical path allows")
def within_critical_path(answer, given: Given):
    if not is_number(answer):
        return hint("give the time saved as a fraction")
    return TARGET <= answer <= _ideal(modelled(given)) + TOLERANCE


@hidden("03.q3", points=1, visibility="never",
        message="the sequential and parallel elapsed times the saving was computed from are the sum and "
                "the slowest of the agents' modelled latencies, and the saving follows from them")
def elapsed_times_match(answer, given: Given):
    sequential, parallel = given.exported.get("sequential"), given.exported.get("parallel")
    if not (is_number(sequential) and is_number(parallel) and sequential > 0):
        return False
    latencies = modelled(given)
    return (_matches(sequential, sum(latencies)) and _matches(parallel, max(latencies))
            and parallel < sequential and isclose(answer, 1 - parallel / sequential, rel=0, abs_tol=TOLERANCE))


# --------------------------------------------------------------------------- question 4

@context("03.q4")
def agent_latencies(given: Given) -> dict:
    return {"seconds": modelled(given)}


@hidden("03.q4", points=1, visibility="after_deadline",
        message="the ideal saving agrees with the critical path of the agents' modelled latencies, "
                "computed by the grader")
def ideal_from_modelled_latencies(answer, given: Given):
    return isclose(answer, _ideal(modelled(given)), rel=0, abs_tol=TOLERANCE)


@hidden("03.q4", points=0.5, visibility="never",
        message="the per-agent times are the modelled latencies of the lab's agents, in order, and the "
                "ideal follows from them")
def agent_seconds_match(answer, given: Given):
    seconds = given.exported.get("seconds")
    if not isinstance(seconds, list) or len(seconds) != 3:
        return False
    if not all(_matches(s, m) for s, m in zip(seconds, modelled(given))):
        return False
    return isclose(answer, _ideal(seconds), rel=0, abs_tol=TOLERANCE)
