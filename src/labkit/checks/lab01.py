"""Checks for lab 01 (context-window optimisation): baseline, exclusions, improvement, priority loading."""

from __future__ import annotations

import math
import statistics
from typing import Any

from .. import context
from . import hint, passed, question

# What a good set of rules leaves out of the sample project (loader categories), essential files aside.
JUNK = ("dependencies", "caches", "build output", "audio", "generated output", "logs", "backups",
        "large data (> 100 KB)")


@question("01.q1")
def baseline_tokens(answer: Any, *, root: str, model: str) -> Any:
    """Estimated tokens of the whole project, loaded with no exclusions."""
    if isinstance(answer, bool) or not isinstance(answer, int):
        return hint("give the number of tokens as a whole number (an int)")
    report = context.load(root, model=model)
    if answer == report.tokens:
        return passed(f"{answer:,} tokens before any exclusion")
    if answer in (report.bytes_read, report.size):
        return hint("that is a number of bytes: the report also estimates tokens")
    if answer == len(report.files):
        return hint("that is the number of files: the question asks for tokens")
    return hint("load the project with labkit.context.load and no rules, for MODEL, and read its tokens")


@question("01.q2")
def exclusion_rules(answer: Any, *, root: str, essential: list[str], model: str) -> Any:
    """Rules text that leaves out the project's junk, keeps every essential file, and warns about nothing."""
    if not isinstance(answer, str):
        return hint("give the rules as one string, one rule per line (a triple-quoted string works)")
    rules = context.parse_rules(answer, warn=False)
    if rules.warnings:
        return hint(f"fix this first — {rules.warnings[0]}")
    if not rules.size_rules:
        return hint("leave out the large JSON files with a size rule (the kit's `@max-size` directive)")
    if not any(rule.text.startswith("!") for rule in rules.patterns):
        return hint("keep the mix notes with a negation: a rule that starts with `!`")
    report = context.load(root, rules, model=model)
    lost = context.missing(report, essential)
    if lost:
        example = lost[0]
        if "audio_output/" in example:
            return hint(f"{len(lost)} needed file(s) are excluded, e.g. {example}: git semantics cannot "
                        "re-include a file whose parent directory is excluded; exclude the folder's contents instead")
        return hint(f"{len(lost)} needed file(s) are excluded, e.g. {example}: narrow the rule that catches it")
    junk = [entry.path for entry in report.files
            if context.category(entry) in JUNK and entry.path not in set(essential)]
    if junk:
        return hint(f"{len(junk)} file(s) that agents do not need are still loaded, e.g. {junk[0]}")
    return passed(f"{len(report.text_files)} files and {report.tokens:,} tokens kept, nothing needed lost")


@question("01.q3")
def improvement(answer: Any, *, root: str, rules_text: str, model: str, before_seconds: list[float],
                after_seconds: list[float], tolerance: float = 0.0) -> Any:
    """The fractions of tokens and of (median) load time that the rules save.

    The timings are local wall seconds. In the notebook they are the learner's own, so the saving
    must be theirs exactly; the grader passes timings it took itself, at another moment, and a
    `tolerance` for how far two honest measurements of the same saving can differ.
    """
    if not isinstance(answer, dict) or set(answer) != {"tokens", "load_time"}:
        return hint("give a dict with two fractions: {'tokens': ..., 'load_time': ...}")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in answer.values()):
        return hint("both values are fractions between 0 and 1, as numbers")
    if len(before_seconds) < 3 or len(after_seconds) < 3:
        return hint("time at least three loads of each kind: one wall-time sample is mostly noise")
    before = context.load(root, model=model).tokens
    after = context.load(root, context.parse_rules(rules_text, warn=False), model=model).tokens
    tokens_saved = 1 - after / before
    time_saved = 1 - statistics.median(after_seconds) / statistics.median(before_seconds)
    if math.isclose(answer["tokens"], tokens_saved * 100, abs_tol=1e-6) or \
            math.isclose(answer["load_time"], time_saved * 100, abs_tol=1e-6):
        return hint("give fractions (0.25), not percentages (25)")
    if math.isclose(answer["tokens"], after / before, abs_tol=1e-9):
        return hint("that is the share of tokens that remains, not the share saved")
    if not math.isclose(answer["tokens"], tokens_saved, abs_tol=1e-9):
        return hint("compare the tokens of a load with your rules against the baseline load's tokens")
    if tolerance:
        if abs(answer["load_time"] - time_saved) > tolerance:
            return hint(f"your load-time saving is {answer['load_time']:.0%}; the grader's own loads with your "
                        f"rules saved {time_saved:.0%}, more than {tolerance:.0%} apart: measure it, do not estimate")
        return passed(f"tokens −{tokens_saved:.0%}; load time {answer['load_time']:.0%} less (the grader measured "
                      f"{time_saved:.0%}: wall time varies between runs)")
    mean_saved = 1 - statistics.fmean(after_seconds) / statistics.fmean(before_seconds)
    if not math.isclose(answer["load_time"], time_saved, abs_tol=1e-9):
        if math.isclose(answer["load_time"], mean_saved, abs_tol=1e-9):
            return hint("use the median of each set of timings: it shrugs off one slow run")
        return hint("compare the median wall time of your loads with rules against the baseline's median")
    return passed(f"tokens −{tokens_saved:.0%}; load time ~{time_saved:.0%} less (wall time: varies between runs)")


@question("01.q4")
def priority_order(answer: Any, *, root: str, rules_text: str | None, budget: int, task: list[str],
                   model: str) -> Any:
    """The files priority loading puts into the budget, in order."""
    if not isinstance(answer, (list, tuple)) or not all(isinstance(p, str) for p in answer):
        return hint("give the loaded files as a list of paths (strings), in the order they were loaded")
    rules = context.parse_rules(rules_text, warn=False) if rules_text else None
    plan = context.load_by_priority(root, budget, task=task, rules=rules, model=model)
    expected = [p.path for p in plan.loaded]
    if list(answer) == expected:
        return passed(f"{len(expected)} files, {plan.used:,} of {budget:,} tokens")
    if not answer or answer[0] != expected[0]:
        return hint("the project configuration always comes first")
    if set(answer) == set(expected):
        return hint("the right files, in the wrong order: config, then task files, then their dependencies")
    if len(answer) > len(expected):
        return hint("some of those do not fit, or are background files that load only on demand")
    return hint("call labkit.context.load_by_priority with the task's files, the budget and the rules")
