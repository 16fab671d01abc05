"""Checks for lab 02 (Memory management automation): the monitoring hook, the 75% trigger, three
sessions with automation, and the efficiency it gained (and the inputs it kept)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .. import hooks
from ..memory import DEFAULT_THRESHOLD, Run
from . import hint, passed, question


@question("02.q1")
def hook_reading(answer: Any, *, event: str | Path) -> Any:
    """The exit code of the hook on one sample event, and the share of the window it logged."""
    if not isinstance(answer, dict) or set(answer) != {"exit_code", "share"}:
        return hint('give a dict with two keys: {"exit_code": ..., "share": ...}')
    path = Path(event)
    data = json.loads(path.read_text())
    reading = hooks.read_transcript(Path(data["transcript_path"]), path.parent)
    share = reading.tokens / hooks.window_for(reading)
    if answer["exit_code"] == hooks.EXIT_BLOCK:
        return hint("2 would block Claude: this hook only blocks new prompts, and only with --block")
    if answer["exit_code"] != hooks.EXIT_OK:
        return hint("read the exit code from the finished process (its returncode), run without options")
    if not isinstance(answer["share"], (int, float)):
        return hint("read `share` from the line the hook appended to your log: a number")
    if math.isclose(answer["share"], share * 100, abs_tol=0.01):
        return hint("give the share as a fraction of the window (0.5 for half), not a percentage")
    if not math.isclose(answer["share"], share, abs_tol=1e-4):
        return hint("use the `share` of the log line this event produced: tokens of the latest request "
                    "over the window of the transcript's model")
    return passed(f"the hook logged {share:.0%} of the window and let the session go on")


@question("02.q2")
def trigger_steps(answer: Any, *, sizes: list[int], window: int) -> Any:
    """The steps (numbered from 1) before which a 75% trigger fires, given each request's size."""
    if not isinstance(answer, list) or not all(isinstance(n, int) for n in answer):
        return hint("give a list of step numbers (whole numbers), e.g. [4, 9]")
    expected = [i + 1 for i, size in enumerate(sizes) if size >= DEFAULT_THRESHOLD * window]
    if answer == expected:
        return passed(f"{len(expected)} of {len(sizes)} requests would trigger a compaction")
    if answer == [n - 1 for n in expected]:
        return hint("number the steps from 1, as the session does")
    if answer == [i + 1 for i, size in enumerate(sizes) if size > DEFAULT_THRESHOLD * window]:
        return hint("the trigger fires *at* 75% too, not only above it")
    return hint("compare each request's size with 75% of the window: ContextTracker.should_compact does it")


@question("02.q3")
def session_efficiency(answer: Any, *, run: Any) -> Any:
    """Context efficiency of each of the three sessions, run with hierarchical memory and compaction at 75%."""
    if not isinstance(run, Run):
        return hint("run the workload first: `automated = memory.run(...)`")
    if not run.policy.hierarchical or run.policy.compact_at != DEFAULT_THRESHOLD:
        return hint("the run must load memory hierarchically and compact at 75% of the window")
    if len(run.sessions) != 3:
        return hint("run all three sessions of memory.podcast()")
    if not isinstance(answer, list) or len(answer) != 3 or not all(isinstance(x, (int, float)) for x in answer):
        return hint("give a list of three numbers, one per session, in session order")
    expected = [run.efficiency(s) for s in run.sessions]
    if all(math.isclose(a, e * 100, abs_tol=1e-6) for a, e in zip(answer, expected)):
        return hint("give fractions (0.5), not percentages (50)")
    if all(math.isclose(a, run.efficiency(), abs_tol=1e-9) for a in answer):
        return hint("that is the whole run's efficiency: measure each session on its own")
    if all(math.isclose(a, e, abs_tol=1e-9) for a, e in zip(answer, expected)):
        return passed("context efficiency per session, measured against what each step reads")
    return hint("use run.efficiency(session) for each name in run.sessions")


@question("02.q4")
def efficiency_gain(answer: Any, *, baseline: Any, automated: Any) -> Any:
    """How many points of efficiency the automation gained over no automation, and what it kept."""
    if not isinstance(baseline, Run) or not isinstance(automated, Run):
        return hint("run the workload both without automation and with it first")
    if baseline.policy.hierarchical or baseline.policy.compact_at is not None:
        return hint("the baseline loads every memory file and never compacts: memory.NO_AUTOMATION")
    if not isinstance(answer, dict) or set(answer) != {"gain", "kept"}:
        return hint('give a dict with two keys: {"gain": ..., "kept": ...}')
    if not all(isinstance(v, (int, float)) for v in answer.values()):
        return hint("both values are numbers")
    gain = automated.efficiency() - baseline.efficiency()
    if math.isclose(answer["gain"], automated.efficiency() / baseline.efficiency() - 1, abs_tol=1e-9):
        return hint("that is the relative change: give the difference of the two efficiencies")
    if math.isclose(answer["gain"], gain * 100, abs_tol=1e-6):
        return hint("give the gain as a fraction (0.10 for ten points), not in percent")
    if not math.isclose(answer["gain"], gain, abs_tol=1e-9):
        return hint("subtract the baseline's whole-run efficiency from the automated run's")
    if not math.isclose(answer["kept"], automated.kept(), abs_tol=1e-9):
        return hint("`kept` is the automated run's share of the steps' inputs still in context: run.kept()")
    return passed("efficiency gained, and the price paid in inputs dropped")
