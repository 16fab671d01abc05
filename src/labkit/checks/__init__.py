"""Instant feedback for labs: `labkit.check("00.q1", answer)` says "passed" or gives a hint.

Each lab's questions live in `labkit/checks/labNN.py`, registered with `@question("NN.qK")`. A check
function receives the learner's answer (plus any context the lab passes) and returns `passed()` or
`hint("...")`: hints say what to look at, never the expected value. An unanswered stub (`...` or
None, also inside a tuple, list or dict of answers) and a check that raises or returns something
other than a verdict or a bool all fail politely instead of crashing the notebook.

Every result is also a display output of type `CHECK_MIME` carrying the question, the verdict and a
JSON form of the answer and its context, so the grader can re-evaluate answers in its own process.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from collections.abc import Callable
from typing import Any

from ..results import show

CHECK_MIME = "application/vnd.labkit.check+json"
MAX_REPR = 1000  # longest repr stored for an answer JSON cannot hold (keeps notebooks small)
_LAB_PART = re.compile(r"^[A-Za-z0-9_]+\.")  # "00.q1" -> lab module labkit.checks.lab00


@dataclasses.dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str = ""


def passed(message: str = "") -> Verdict:
    return Verdict(True, message)


def hint(message: str) -> Verdict:
    return Verdict(False, message)


@dataclasses.dataclass(frozen=True)
class Question:
    id: str
    fn: Callable[..., Verdict]
    points: float = 1.0


_questions: dict[str, Question] = {}


def question(qid: str, points: float = 1.0) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Register a check function for question `qid` ("NN.qK")."""
    def register(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        _questions[qid] = Question(qid, fn, points)
        return fn
    return register


def lookup(qid: str) -> Question:
    """The registered question, importing its lab's module on first use."""
    if qid not in _questions and isinstance(qid, str) and _LAB_PART.match(qid):
        module = f"{__name__}.lab{qid.split('.', 1)[0]}"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # the lab's module exists but imports something missing: say so
                raise
    try:
        return _questions[qid]
    except (KeyError, TypeError):
        raise KeyError(f"no question {qid!r}: question ids look like '00.q1' "
                       "(lab number, then the question)") from None


@dataclasses.dataclass(frozen=True)
class CheckResult:
    question: str
    passed: bool
    message: str
    answer: Any = None
    context: dict[str, Any] = dataclasses.field(default_factory=dict)

    def line(self) -> str:
        if self.passed:
            return f"✔ {self.question} passed" + (f": {self.message}" if self.message else "")
        return f"✘ {self.question}: {self.message}"

    def __str__(self) -> str:
        return self.line()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.line(), CHECK_MIME: dataclasses.asdict(self)}


def evaluate(qid: str, answer: Any, **context: Any) -> CheckResult:
    """Run question `qid`'s check on `answer` without displaying anything."""
    q = lookup(qid)
    exported = {name: _jsonable(value) for name, value in context.items()}
    if _unanswered(answer):
        return CheckResult(qid, False, "not answered yet: replace the `...` with your answer", None,
                           exported)
    try:
        verdict = _as_verdict(q.fn(answer, **context))
    except Exception as exc:  # a learner's answer of the wrong shape must not crash the lab
        verdict = hint(f"could not check this answer ({type(exc).__name__}: {exc})")
    return CheckResult(qid, verdict.passed, verdict.message, _jsonable(answer), exported)


def check(qid: str, answer: Any, **context: Any) -> None:
    """Check a lab answer and show the verdict: `labkit.check("00.q1", cost)`."""
    show(evaluate(qid, answer, **context))


def _unanswered(answer: Any) -> bool:
    """A stub left as is: `...`/None, or a tuple, list or dict of answers with a `...` still in it."""
    if answer is Ellipsis or answer is None:
        return True
    if isinstance(answer, (tuple, list)):
        return any(item is Ellipsis for item in answer)
    if isinstance(answer, dict):
        return any(item is Ellipsis for item in answer.values())
    return False


def _as_verdict(result: Any) -> Verdict:
    """A check's return value as a Verdict: `passed()`/`hint()`, or a plain (numpy) bool."""
    if isinstance(result, Verdict):
        return result
    if isinstance(result, bool) or type(result).__name__ in ("bool_", "bool"):
        return Verdict(bool(result), "" if result else "not quite: re-read the question")
    # Anything else (a forgotten `return` gives None) is a bug in the check, not in the answer.
    raise TypeError(f"the check returned {type(result).__name__}, not passed() or hint()")


def _jsonable(value: Any) -> Any:
    """A value as JSON for the grader (SDK objects as their JSON form), else a shortened repr."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif hasattr(value, "tolist"):  # numpy scalars and arrays: their plain Python values
        value = value.tolist()
    try:
        json.dumps(value, allow_nan=False)  # NaN would make the saved notebook invalid JSON
        return value
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
        return text if len(text) <= MAX_REPR else text[:MAX_REPR - 1] + "…"
