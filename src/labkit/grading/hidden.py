"""Hidden checks and trusted contexts: the instructor's half of grading, kept out of students' reach.

Each lab may have an instructor module `instructor/hidden/labNN.py` (outside the package, never in
the student bundle, never readable by a student's kernel). It declares, with two decorators:

    from labkit.grading.hidden import Given, context, hidden

    @context("NN.q1")                      # what the visible check is re-run against
    def the_call(given: Given) -> dict:
        usage = given.client().messages.create(...).usage
        return {"usage": usage.model_dump(mode="json"), "model": given.parameters["MODEL"]}

    @hidden("NN.q1", points=1, visibility="never", message="what it checks, in the instructor's words")
    def recomputed(answer, given: Given):
        return isclose(answer, ...)          # a bool, or labkit.checks.passed()/hint()

- A **trusted context** replaces the context the student's notebook exported when the grader re-runs
  the question's visible check: the grader recomputes the inputs (with its fixed seed the simulator
  answers deterministically) instead of trusting values a student could have forged.
- A **hidden check** earns its own `points`; `message` says what it checks, in words shown according
  to its `visibility`: "always", "after_deadline" (only in feedback rendered with `--after-deadline`)
  or "never" (feedback says only "hidden check: passed/failed").
- An optional `prepare(given)` runs once in the grader before any kernel starts (for instance to
  generate data a lab reads, since kernels see the course read-only).

The module is loaded from its source text in the grader process only (so a remote worker needs no
copy of instructor/); decorated functions are collected from its namespace.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import LabkitError

VISIBILITIES = ("always", "after_deadline", "never")
_CHECK_ATTR = "_labkit_hidden_check"
_CONTEXT_ATTR = "_labkit_trusted_context"


class InstructorError(LabkitError):
    """An instructor module is malformed (wrong visibility, points, question...)."""


@dataclasses.dataclass(frozen=True)
class HiddenCheck:
    question: str
    id: str
    fn: Callable[..., Any]
    points: float
    message: str
    visibility: str


def hidden(question: str, *, message: str, points: float = 1.0, visibility: str = "never",
           id: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a hidden check of `question`: `fn(answer, given)` returns a bool or a Verdict."""
    if visibility not in VISIBILITIES:
        raise InstructorError(f"hidden check for {question}: visibility must be one of "
                              f"{', '.join(VISIBILITIES)}, not {visibility!r}")
    if not isinstance(points, (int, float)) or isinstance(points, bool) or not math.isfinite(points) or points < 0:
        raise InstructorError(f"hidden check for {question}: points must be a number ≥ 0, not {points!r}")
    if not message or not isinstance(message, str):
        raise InstructorError(f"hidden check for {question}: give a message saying what it checks")

    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _CHECK_ATTR, HiddenCheck(question, id or f"{question}:{fn.__name__}", fn, float(points),
                                             message, visibility))
        return fn
    return declare


def context(question: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the trusted context of `question`'s visible check: `fn(given)` returns its keyword arguments."""
    def declare(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, _CONTEXT_ATTR, question)
        return fn
    return declare


@dataclasses.dataclass(frozen=True)
class Given:
    """What hidden checks and trusted contexts may use. Only `answer` and `exported` come from the
    student's kernel (untrusted); everything else is the grader's."""

    question: str
    answer: Any                          # the exported answer (JSON data)
    exported: Mapping[str, Any]          # the context the student's notebook exported (untrusted)
    trusted: Mapping[str, Any] | None    # this question's trusted context, if the module defines one
    seed: int
    parameters: Mapping[str, Any]        # the parameters the notebook ran with (released lab + grader)
    constants: Mapping[str, Any]         # literal assignments of the released lab's code cells
    data_dir: Path                       # the course's data/ folder

    def client(self) -> Any:
        """An SDK client on a fresh, private simulator with the grading seed (no waiting)."""
        from . import reference

        return reference.client(reference.simulator(self.seed, self.data_dir))

    def modelled(self, request: Mapping[str, Any]) -> Any:
        """The simulator's answer to one Messages request, with its modelled `latency` in seconds."""
        from . import reference

        return reference.modelled(request, reference.simulator(self.seed, self.data_dir))


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool, text or NaN): answers arrive as JSON, check before use."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def isclose(value: Any, expected: float, *, rel: float = 1e-9, abs_tol: float = 1e-12) -> bool:
    """A number close to `expected` (see `is_number`): for hidden checks."""
    return is_number(value) and math.isclose(value, expected, rel_tol=rel, abs_tol=abs_tol)


@dataclasses.dataclass(frozen=True)
class Instructor:
    """One lab's instructor module, loaded."""

    lab: str
    source: str = ""                      # empty: no module for this lab
    filename: str = ""
    checks: tuple[HiddenCheck, ...] = ()
    contexts: Mapping[str, Callable[[Given], Mapping[str, Any]]] = dataclasses.field(default_factory=dict)
    prepare: Callable[[Given], Any] | None = None

    @property
    def digest(self) -> str:
        """Changes whenever the module does: a class re-run regrades everything when it changes."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:16] if self.source else "none"

    def checks_for(self, question: str) -> list[HiddenCheck]:
        return [check for check in self.checks if check.question == question]

    def validate(self, questions: list[str]) -> None:
        """Every declared question must be one of the released lab's graded questions."""
        known = set(questions)
        for question in [c.question for c in self.checks] + list(self.contexts):
            if question not in known:
                raise InstructorError(f"{self.filename}: {question!r} is not a graded question of lab {self.lab} "
                                      f"(its questions: {', '.join(questions) or 'none'})")
        ids = [check.id for check in self.checks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise InstructorError(f"{self.filename}: duplicate hidden check id {duplicates[0]!r}")


def module_path(directory: Path, lab: str) -> Path:
    return directory / "hidden" / f"lab{lab}.py"


def read(directory: Path | None, lab: str) -> tuple[str, str]:
    """The instructor module's (source, filename) for `lab`, or ("", "") when it has none."""
    if directory is None:
        return "", ""
    path = module_path(directory, lab)
    if not path.is_file():
        return "", ""
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise InstructorError(f"cannot read {path}: {exc.strerror or exc}") from None


def load(lab: str, source: str, filename: str = "<instructor>") -> Instructor:
    """Execute an instructor module's source and collect what it declares."""
    if not source:
        return Instructor(lab)
    module = types.ModuleType(f"labkit_instructor_lab{lab}")
    module.__file__ = filename
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except LabkitError:
        raise
    except Exception as exc:
        raise InstructorError(f"{filename} does not load: {type(exc).__name__}: {exc}") from None
    checks: list[HiddenCheck] = []
    contexts: dict[str, Callable[[Given], Mapping[str, Any]]] = {}
    for value in vars(module).values():
        if isinstance(getattr(value, _CHECK_ATTR, None), HiddenCheck):
            checks.append(getattr(value, _CHECK_ATTR))
        question = getattr(value, _CONTEXT_ATTR, None)
        if isinstance(question, str):
            if question in contexts:
                raise InstructorError(f"{filename}: two trusted contexts for {question}")
            contexts[question] = value
    for check in checks:
        if not check.question.startswith(f"{lab}."):
            raise InstructorError(f"{filename}: hidden check {check.id!r} is for {check.question}, not lab {lab}")
    prepare = getattr(module, "prepare", None)
    return Instructor(lab, source, filename, tuple(checks), contexts, prepare if callable(prepare) else None)
