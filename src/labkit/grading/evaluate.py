"""Score an executed submission, out of the student's kernel: which answer counts, and what it earns.

Threat model. Everything inside the kernel is student-controlled: `labkit.check` can be replaced,
check outputs forged, "✔ passed" printed, the `passed` field set to anything. So the grader trusts
nothing the kernel says about *verdicts*. It reads only the CHECK_MIME outputs' `answer` (and
`context`), and decides itself:

- the question's **visible check** (the public `labkit.checks` function, with its registered
  points) is re-run in the sandboxed evaluator process, against the instructor's **trusted context**
  when the lab's instructor module gives one (recomputed by the grader), else against the exported
  context (then only hidden checks guard that question against forged inputs);
- the question's **hidden checks** run here, in the grader process, comparing the answer with values
  the grader computes independently (same seed, same simulator).

A forged output can therefore only *supply an answer*, which is what typing it in would do.

Rules, in order, for each graded question of the released lab:

1. Its answer is the **last** CHECK_MIME output in the notebook whose `question` is that id (a fresh
   run makes one per check call; re-checks and forgeries cannot earn more than one try). More than
   one output, or the counted one coming from a cell that is not the question's check cell, is
   flagged in the record for the instructor.
2. The cell that produced that output must have finished cleanly: an error, a timeout or a cell
   that stopped the kernel scores zero for every check of the question ("your cell raised ...").
3. No output: zero, "not answered" (or why its check cell did not run). An unanswered stub (`...`)
   exports no answer: zero, "not answered".
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks import CHECK_MIME, Verdict, lookup
from ..course.runner import first_line
from . import isolation
from .execute import OK, Execution
from .hidden import Given, HiddenCheck, Instructor
from .isolation import Limits, Protection
from .submission import ReleasedLab, check_cells

VISIBLE = "visible"
HIDDEN = "hidden"
ANSWERED, NOT_ANSWERED = "answered", "not answered"
CHECK_SECONDS = 60.0  # one visible check's time limit in the evaluator


@dataclasses.dataclass(frozen=True)
class CheckOutcome:
    """One check's result: the unit of the record, the gradebook and the feedback."""

    question: str
    id: str
    kind: str            # VISIBLE or HIDDEN
    points: float
    max_points: float
    passed: bool
    message: str         # the verdict's message (hidden ones are filtered by visibility in feedback)
    visibility: str      # "always" for visible checks; a hidden check's own
    description: str = ""  # what a hidden check checks (its declared message)
    duration: float = 0.0
    context: str = ""    # "trusted", "exported" or "" (hidden checks)


@dataclasses.dataclass(frozen=True)
class QuestionOutcome:
    question: str
    status: str          # ANSWERED, NOT_ANSWERED, or the check cell's status (error, timeout ...)
    detail: str          # why it scored nothing, in words a student understands ("" when answered)
    cell: int | None     # the check cell's number among the submission's code cells
    cell_seconds: float | None
    checks: tuple[CheckOutcome, ...]
    flags: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return sum(check.points for check in self.checks)

    @property
    def max_points(self) -> float:
        return sum(check.max_points for check in self.checks)


@dataclasses.dataclass(frozen=True)
class Answer:
    payload: dict[str, Any]
    cell: int            # index in the executed notebook
    count: int           # outputs for this question in the notebook


# --------------------------------------------------------------------------- reading answers


def answers(nb: Any) -> dict[str, Answer]:
    """The counted (last) check output of each question, with where it came from and how many there were."""
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            payload = (output.get("data") or {}).get(CHECK_MIME)
            if isinstance(payload, dict) and isinstance(payload.get("question"), str):
                found.setdefault(payload["question"], []).append((index, payload))
    return {q: Answer(items[-1][1], items[-1][0], len(items)) for q, items in found.items()}


# --------------------------------------------------------------------------- scoring


def score(execution: Execution, lab: ReleasedLab, instructor: Instructor, evaluator: Evaluator, *,
          seed: int, parameters: Mapping[str, Any], data_dir: Path) -> tuple[list[QuestionOutcome], list[str]]:
    """Every graded question's outcome, and grader problems (instructor-module errors) if any."""
    nb = execution.notebook
    given_answers = answers(nb)
    outcomes, problems = [], []
    for question in lab.questions:
        outcome, problem = _question(question, nb, execution, given_answers.get(question), lab, instructor,
                                     evaluator, seed=seed, parameters=parameters, data_dir=data_dir)
        outcomes.append(outcome)
        problems.extend(problem)
    return outcomes, problems


def _question(question: str, nb: Any, execution: Execution, answer: Answer | None, lab: ReleasedLab,
              instructor: Instructor, evaluator: Evaluator, *, seed: int, parameters: Mapping[str, Any],
              data_dir: Path) -> tuple[QuestionOutcome, list[str]]:
    cells = check_cells(nb, question)
    source_cell = answer.cell if answer is not None else (cells[-1] if cells else None)
    run = execution.cells.get(source_cell) if source_cell is not None else None
    number = run.number if run is not None else None
    seconds = run.seconds if run is not None else None
    flags = []
    if answer is not None and answer.count > 1:
        flags.append(f"{answer.count} check outputs for {question}: the last one counts")
    if answer is not None and cells and answer.cell not in cells:
        flags.append(f"the counted output for {question} came from cell {number}, not its check cell")

    if answer is None:
        if run is not None and run.status != OK:
            status, detail = run.status, f"{run.where} {run.error}"
        elif cells:
            where = run.where if run is not None else f"cell {number}"
            status, detail = NOT_ANSWERED, f"{where} ran but showed no check result"
        else:
            status, detail = NOT_ANSWERED, f'the notebook never calls labkit.check("{question}", ...)'
        return zero(question, status, detail, instructor, number, seconds, flags), []
    if run is not None and run.status != OK:
        detail = f"{run.where} {run.error}"
        return zero(question, run.status, detail, instructor, number, seconds, flags), []
    value = answer.payload.get("answer")
    if value is None:
        detail = "not answered yet (the `...` is still there)"
        return zero(question, NOT_ANSWERED, detail, instructor, number, seconds, flags), []

    exported = answer.payload.get("context") if isinstance(answer.payload.get("context"), dict) else {}
    base = Given(question, value, exported, None, seed, dict(parameters), dict(lab.constants), data_dir)
    problems: list[str] = []
    trusted = None
    if question in instructor.contexts:
        try:
            trusted = dict(instructor.contexts[question](base))
        except Exception as exc:  # an instructor bug must not look like a student's mistake
            problems.append(f"trusted context of {question} failed: {type(exc).__name__}: {first_line(str(exc))}")
    checks = [_visible(question, value, trusted if trusted is not None else exported,
                       "trusted" if trusted is not None else "exported", evaluator,
                       failed=bool(problems))]
    given = dataclasses.replace(base, trusted=trusted)
    for hidden in instructor.checks_for(question):
        checks.append(_hidden(hidden, value, given))
    return QuestionOutcome(question, ANSWERED, "", number, seconds, tuple(checks), tuple(flags)), problems


def zero(question: str, status: str, detail: str, instructor: Instructor, number: int | None = None,
         seconds: float | None = None, flags: Sequence[str] = ()) -> QuestionOutcome:
    """A question that earns nothing, with every check it could have earned and the reason."""
    checks = [CheckOutcome(question, question, VISIBLE, 0.0, visible_points(question), False, detail, "always")]
    checks += [CheckOutcome(question, h.id, HIDDEN, 0.0, h.points, False, "", h.visibility, h.message)
               for h in instructor.checks_for(question)]  # the reason is the question's `detail`
    return QuestionOutcome(question, status, detail, number, seconds, tuple(checks), tuple(flags))


def visible_points(question: str) -> float:
    try:
        return float(lookup(question).points)
    except KeyError:
        return 1.0


def _visible(question: str, answer: Any, context: Mapping[str, Any], source: str, evaluator: Evaluator,
             *, failed: bool) -> CheckOutcome:
    points = visible_points(question)
    if failed:
        verdict = {"passed": False, "message": "the grader could not check this question (reported to the "
                                               "instructor)", "seconds": 0.0}
    else:
        verdict = evaluator.evaluate(question, answer, context)
    passed = bool(verdict.get("passed"))
    return CheckOutcome(question, question, VISIBLE, points if passed else 0.0, points, passed,
                        str(verdict.get("message", "")), "always", "", float(verdict.get("seconds", 0.0)), source)


def _hidden(check: HiddenCheck, answer: Any, given: Given) -> CheckOutcome:
    start = time.perf_counter()
    try:
        result = check.fn(answer, given)
        if isinstance(result, Verdict):
            passed, message = result.passed, result.message
        elif isinstance(result, bool) or type(result).__name__ == "bool_":
            passed, message = bool(result), ""
        else:
            passed, message = False, f"the hidden check returned {type(result).__name__}, not a verdict"
    except Exception as exc:  # an answer of the wrong shape (or an instructor bug: the record keeps the type)
        passed, message = False, f"could not check this answer ({type(exc).__name__})"
    return CheckOutcome(check.question, check.id, HIDDEN, check.points if passed else 0.0, check.points,
                        passed, message, check.visibility, check.message, round(time.perf_counter() - start, 4))


# --------------------------------------------------------------------------- the evaluator process


class Evaluator:
    """A sandboxed `labkit.grading.evaluator` process, started on first use and reused.

    One per grader process (a class of 200 pays for one interpreter start per worker, not 200).
    A check that exceeds its time limit, or an evaluator that dies, fails that check and the process
    is replaced for the next one. Not shared between threads.
    """

    def __init__(self, course_root: Path, protection: Protection, limits: Limits = Limits(),
                 timeout: float = CHECK_SECONDS) -> None:
        self.course_root = course_root
        self.protection = protection
        self.limits = limits
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stack: contextlib.ExitStack | None = None
        self._lock = threading.Lock()

    def evaluate(self, question: str, answer: Any, context: Mapping[str, Any]) -> dict[str, Any]:
        try:
            request = pickle.dumps((question, answer, dict(context)))
        except Exception as exc:
            return {"passed": False, "message": f"could not send this answer to the checker ({type(exc).__name__})",
                    "seconds": 0.0}
        with self._lock:
            for _ in range(2):  # a process that died since the last question is replaced once
                try:
                    return self._ask(request)
                except (BrokenPipeError, EOFError):
                    self.close()
                except TimeoutError:
                    self.close()
                    return {"passed": False, "message": f"the check did not finish within {self.timeout:g} s",
                            "seconds": self.timeout}
            return {"passed": False, "message": "the checker process failed", "seconds": 0.0}

    def _ask(self, request: bytes) -> dict[str, Any]:
        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(struct.pack(">I", len(request)) + request)
        process.stdin.flush()
        line = _read_line(process.stdout, self.timeout)
        reply = json.loads(line)
        return reply if isinstance(reply, dict) else {"passed": False, "message": "bad reply"}

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.close()
        stack = contextlib.ExitStack()
        job_dir = isolation.make_job_dir("lkg-eval-")
        stack.callback(shutil.rmtree, job_dir, ignore_errors=True)
        uid = stack.enter_context(isolation.own_uid(self.protection))
        workdir = isolation.make_workdir(job_dir, "w", uid)
        env = isolation.student_environment(os.environ, home=workdir / "home", seed=0, time_scale=0.0)
        spec = isolation.write_spec(job_dir, protection=self.protection, uid=uid, workdir=workdir,
                                    course_root=self.course_root, env=env, limits=self.limits)
        command = isolation.launcher(spec) + [sys.executable, "-I", "-m", "labkit.grading.evaluator"]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        self._stack = stack
        return self._process

    def close(self) -> None:
        if self._process is not None:
            with contextlib.suppress(Exception):
                self._process.kill()
                self._process.wait(timeout=10)
            for stream in (self._process.stdin, self._process.stdout):
                with contextlib.suppress(Exception):
                    stream.close()  # type: ignore[union-attr]
            self._process = None
        if self._stack is not None:
            self._stack.close()
            self._stack = None


def _read_line(stream: Any, timeout: float) -> bytes:
    """One reply line, or TimeoutError; EOFError if the process died."""
    deadline = time.monotonic() + timeout
    data = b""
    fd = stream.fileno()
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError
            data += chunk
            if len(data) > 1_000_000:
                raise EOFError
    return data


_shared: dict[tuple[Path, Protection, Limits], Evaluator] = {}


def shared(course_root: Path, protection: Protection, limits: Limits) -> Evaluator:
    """This process's evaluator (closed at exit)."""
    key = (course_root, protection, limits)
    if key not in _shared:
        import atexit

        _shared[key] = Evaluator(course_root, protection, limits)
        atexit.register(_shared[key].close)
    return _shared[key]

