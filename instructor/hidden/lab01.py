"""Grading set-up, trusted contexts and hidden checks for lab 01 (Context window optimisation) — instructor only.

Student kernels see the course read-only, so the sample project the lab loads must exist before any
kernel starts: `prepare` generates it for the grading seed (once per grader process).

Recompute, do not believe (see instructor/hidden/lab00.py): the project is the grader's own copy for
the grading seed (`context.sample_project(seed=given.seed)`), the model is the released lab's
`MODEL`, and question 4's task and budget are the released lab's `REVIEW_TASK` / `REVIEW_BUDGET`
constants — never the root, essential list or task the student's kernel exported. The only student
inputs used are answers (JSON data, type-checked) and, for question 3, the student's own rules text
and wall timings (nothing else can supply them). Those timings are checked for consistency and
plausibility; the visible check compares the saving with the grader's own timings of the same rules.
"""

import functools
import math
import statistics

from labkit import context
from labkit.checks import hint, passed
from labkit.grading.hidden import Given, context as trusted, hidden, is_number, isclose

AUDIO_KEEP = "mix_notes.md"      # the one file each episode's audio_output/ must keep (question 2)
JSON_LIMIT = "100KB"             # JSON files larger than this must be left out (question 2)
# How far two honest measurements of question 3's load-time saving may differ: medians of five loads
# of the sample project saved 0.915-0.940 in four rounds beside a busy test suite (2 cores), but a
# kernel graded beside a classmate's once measured 0.82 while the grader measured 0.93. So the
# band is wide: it stops a saving invented far from the truth (the hidden check ties the answer to
# the student's own timings), and no honest student loses a point to the machine's load.
LOAD_TIME_TOLERANCE = 0.25


def prepare(given: Given) -> None:
    context.sample_project(seed=given.seed)


# --- the grader's own project, loads and plan ------------------------------------------------------

def _project(given: Given):
    return context.sample_project(seed=given.seed)


def _model(given: Given) -> str:
    return given.parameters["MODEL"]


@functools.lru_cache(maxsize=16)
def _load(seed: int, model: str, rules_text: str | None = None):
    root = context.sample_project(seed=seed).root
    rules = context.parse_rules(rules_text, warn=False) if rules_text is not None else None
    return context.load(root, rules, model=model)


def _baseline(given: Given):
    return _load(given.seed, _model(given))


def _with_rules(given: Given, rules_text: str):
    return _load(given.seed, _model(given), rules_text)


def _review_plan(given: Given):
    task = list(given.constants["REVIEW_TASK"])
    return context.load_by_priority(_project(given).root, given.constants["REVIEW_BUDGET"], task=task,
                                    report=_baseline(given))


def _repeats(given: Given) -> int:
    value = given.parameters.get("REPEATS", given.constants.get("REPEATS", 5))
    return value if isinstance(value, int) and 0 < value <= 20 else 5


def _usable_rules(text) -> str | None:
    """Why rules text is unusable ("" when it is fine): a string, no warnings."""
    if not isinstance(text, str):
        return "the rules are not one string"
    rules = context.parse_rules(text, warn=False)
    if rules.warnings:
        return "the rules produce warnings"
    return ""


# --- trusted contexts: the visible checks re-run against the grader's project ----------------------

@trusted("01.q1")
def baseline_inputs(given: Given) -> dict:
    return {"root": str(_project(given).root), "model": _model(given)}


@trusted("01.q2")
def rules_inputs(given: Given) -> dict:
    project = _project(given)
    return {"root": str(project.root), "essential": list(project.essential), "model": _model(given)}


@trusted("01.q3")
def improvement_inputs(given: Given) -> dict:
    """The student's rules on the grader's project, timed by the grader: load time is local wall time,
    which no grader can recompute exactly, so it is measured again here and compared with a tolerance."""
    rules_text = given.exported.get("rules_text")
    rules_text = rules_text if isinstance(rules_text, str) and not _usable_rules(rules_text) else ""
    root, repeats = _project(given).root, max(3, int(_repeats(given)))
    rules = context.parse_rules(rules_text, warn=False)
    before = [context.load(root, model=_model(given)).seconds for _ in range(repeats)]
    after = [context.load(root, rules, model=_model(given)).seconds for _ in range(repeats)]
    return {"root": str(root), "rules_text": rules_text, "model": _model(given), "before_seconds": before,
            "after_seconds": after, "tolerance": LOAD_TIME_TOLERANCE}


@trusted("01.q4")
def review_inputs(given: Given) -> dict:
    return {"root": str(_project(given).root), "rules_text": None, "budget": given.constants["REVIEW_BUDGET"],
            "task": list(given.constants["REVIEW_TASK"]), "model": _model(given)}


# --- question 1: the baseline ----------------------------------------------------------------------

@hidden("01.q1", points=0.5, visibility="always", message="the baseline is a positive whole number of tokens")
def whole_positive_tokens(answer, given: Given):
    return isinstance(answer, int) and not isinstance(answer, bool) and answer > 0


@hidden("01.q1", points=1, visibility="never",
        message="the baseline tokens of the whole sample project, loaded by the grader for the lab's model")
def baseline_recomputed(answer, given: Given):
    return isinstance(answer, int) and not isinstance(answer, bool) and answer == _baseline(given).tokens


# --- question 2: the exclusions --------------------------------------------------------------------

@hidden("01.q2", points=1, visibility="after_deadline",
        message="the rules, applied by the grader to its own copy of the project, warn about nothing "
                "and keep every file the agents need")
def keeps_what_agents_need(answer, given: Given):
    problem = _usable_rules(answer)
    if problem:
        return hint(problem)
    lost = context.missing(_with_rules(given, answer), _project(given).essential)
    return hint(f"{len(lost)} needed file(s) are excluded") if lost else passed()


@hidden("01.q2", points=1, visibility="never",
        message="audio_output keeps exactly each episode's mix notes, temp folders and every JSON file over "
                "100 KB are left out")
def audio_temp_and_large_json(answer, given: Given):
    if _usable_rules(answer):
        return False
    limit = context.parse_size(JSON_LIMIT)
    baseline = _baseline(given)
    wanted = {f.path for f in baseline.files
              if "/audio_output/" in f.path and f.path.rsplit("/", 1)[-1] == AUDIO_KEEP}
    kept = _with_rules(given, answer).files
    audio = {f.path for f in kept if "/audio_output/" in f.path}
    if not wanted or audio != wanted:
        return False
    if any("/temp/" in f.path for f in kept):
        return False
    return not any(f.path.endswith(".json") and f.size > limit for f in kept)


# --- question 3: the improvement -------------------------------------------------------------------

@hidden("01.q3", points=1, visibility="never",
        message="the token saving of the submitted rules, recomputed by the grader against its own baseline")
def token_saving_recomputed(answer, given: Given):
    if not isinstance(answer, dict) or not is_number(answer.get("tokens")):
        return False
    rules_text = given.exported.get("rules_text")
    if _usable_rules(rules_text):
        return False
    after = _with_rules(given, rules_text)
    if context.missing(after, _project(given).essential):   # rules that drop needed files save nothing real
        return False
    expected = 1 - after.tokens / _baseline(given).tokens
    return expected > 0 and isclose(answer["tokens"], expected, rel=1e-9, abs_tol=1e-9)


@hidden("01.q3", points=0.5, visibility="after_deadline",
        message="REPEATS plausible wall timings of each kind, and a load-time saving that is their medians' "
                "and below 100%")
def timings_plausible(answer, given: Given):
    if not isinstance(answer, dict) or not is_number(answer.get("load_time")):
        return False
    samples = [given.exported.get("before_seconds"), given.exported.get("after_seconds")]
    for series in samples:
        if not isinstance(series, list) or len(series) < max(3, int(_repeats(given))):
            return hint("time REPEATS loads with no rules and REPEATS with your rules")
        # Wall time of walking ~1,500 files: above zero, and not minutes.
        if not all(is_number(s) and 0 < s < 120 for s in series):
            return hint("some timings are not plausible wall seconds of one load")
        if len(set(series)) == 1:  # a clock read to the nanosecond never repeats exactly
            return hint("identical timings are not measurements")
    before, after = (statistics.median(series) for series in samples)
    expected = 1 - after / before
    if not (math.isfinite(expected) and answer["load_time"] < 1):
        return False
    return isclose(answer["load_time"], expected, rel=1e-9, abs_tol=1e-9)


# --- question 4: priority loading ------------------------------------------------------------------

@hidden("01.q4", points=0.5, visibility="always",
        message="distinct project files, the project configuration first, together within the review budget")
def fits_the_budget(answer, given: Given):
    if not isinstance(answer, list) or not answer or not all(isinstance(p, str) for p in answer):
        return False
    if len(set(answer)) != len(answer) or answer[0] != "CLAUDE.md":
        return False
    tokens = {f.path: f.tokens for f in _baseline(given).text_files}
    if not all(p in tokens for p in answer):
        return False
    return sum(tokens[p] for p in answer) <= given.constants["REVIEW_BUDGET"]


@hidden("01.q4", points=1, visibility="never",
        message="the review agent's plan for the released task and budget, recomputed by the grader")
def plan_recomputed(answer, given: Given):
    expected = [placement.path for placement in _review_plan(given).loaded]
    return isinstance(answer, list) and answer == expected
