"""Trusted contexts for lab 02 (Memory management automation) — instructor only.

Lab 02's checks take the workload runs themselves (`memory.Run` objects) as context, which a kernel
cannot export as data. The grader recomputes them here with its own simulator and the released lab's
parameters, in the lab's order (the simulator answers identically), so the visible checks are re-run
against runs the student could not have forged. Hidden checks for this lab: add them here, following
instructor/hidden/lab00.py.
"""

import functools

from labkit import memory
from labkit.grading.hidden import Given, context

EVENT = "post_tool_use.json"


@functools.lru_cache(maxsize=4)
def _runs(seed: int, data_dir: str, model: str, window: int) -> tuple:
    from pathlib import Path

    from labkit.grading import reference

    client = reference.client(reference.simulator(seed, Path(data_dir)))
    runs = [memory.run(memory.podcast(), policy, client=client, model=model, window=window)
            for policy in (memory.HIERARCHY_ONLY, memory.AUTOMATED, memory.NO_AUTOMATION)]
    return tuple(runs)


def runs(given: Given) -> tuple:
    """(hierarchy only, automated, no automation), as the released lab runs them."""
    return _runs(given.seed, str(given.data_dir), given.parameters["MODEL"], given.parameters["WINDOW_TOKENS"])


@context("02.q1")
def sample_event(given: Given) -> dict:
    return {"event": str(given.data_dir / "hook_events" / EVENT)}


@context("02.q2")
def request_sizes(given: Given) -> dict:
    hierarchy = runs(given)[0]
    return {"sizes": [step.tokens for step in hierarchy.steps], "window": given.parameters["WINDOW_TOKENS"]}


@context("02.q3")
def automated_run(given: Given) -> dict:
    return {"run": runs(given)[1]}


@context("02.q4")
def both_runs(given: Given) -> dict:
    _, automated, baseline = runs(given)
    return {"baseline": baseline, "automated": automated}
