"""Trusted contexts and hidden checks for lab 02 (Memory management automation) — instructor only.

Lab 02's checks take the workload runs themselves (`memory.Run` objects) as context, which a kernel
cannot export as data. The grader recomputes them here with its own simulator and the released lab's
parameters, in the lab's order (the simulator answers identically), so the visible checks are re-run
against runs the student could not have forged. The hidden checks compare each answer with the same
recomputed runs, and with what the hook logs for the released sample event.
"""

import functools
import json
import math
from pathlib import Path

from labkit import hooks, memory
from labkit.grading.hidden import Given, context, hidden, is_number, isclose

EVENT = "post_tool_use.json"


@functools.lru_cache(maxsize=4)
def _runs(seed: int, data_dir: str, model: str, window: int) -> tuple:
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


# --------------------------------------------------------------------------- hidden checks


@hidden("02.q1", points=0.5, visibility="after_deadline",
        message="the exit code and share the hook gives for the released sample event, run by the grader")
def hook_rerun(answer, given: Given):
    if not isinstance(answer, dict) or answer.get("exit_code") != hooks.EXIT_OK or not is_number(answer.get("share")):
        return False
    path = given.data_dir / "hook_events" / EVENT
    reading = hooks.read_transcript(Path(json.loads(path.read_text())["transcript_path"]), path.parent)
    return isclose(answer["share"], reading.tokens / hooks.window_for(reading), rel=0, abs_tol=1e-4)


@hidden("02.q2", points=0.5, visibility="never",
        message="the steps of the grader's own hierarchical run at which a 75% trigger fires")
def trigger_recomputed(answer, given: Given):
    window = given.parameters["WINDOW_TOKENS"]
    expected = [i + 1 for i, step in enumerate(runs(given)[0].steps) if step.tokens >= memory.DEFAULT_THRESHOLD * window]
    return isinstance(answer, list) and answer == expected


@hidden("02.q3", points=0.5, visibility="never",
        message="three per-session efficiencies of the grader's own automated run, each between 0 and 1")
def sessions_recomputed(answer, given: Given):
    run = runs(given)[1]
    expected = [run.efficiency(session) for session in run.sessions]
    return (isinstance(answer, list) and len(answer) == len(expected)
            and all(is_number(a) and 0 <= a <= 1 and math.isclose(a, e, abs_tol=1e-9) for a, e in zip(answer, expected)))


@hidden("02.q4", points=0.5, visibility="after_deadline",
        message="the efficiency gained and the inputs kept, from the grader's own runs with and without automation")
def gain_recomputed(answer, given: Given):
    _, automated, baseline = runs(given)
    if not isinstance(answer, dict) or not all(is_number(answer.get(k)) for k in ("gain", "kept")):
        return False
    return (isclose(answer["gain"], automated.efficiency() - baseline.efficiency(), rel=0, abs_tol=1e-9)
            and isclose(answer["kept"], automated.kept(), rel=0, abs_tol=1e-9))
