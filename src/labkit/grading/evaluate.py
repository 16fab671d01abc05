"""Score an executed submission, out of the student's kernel: which answer counts, and what it earns.

Threat model. Everything inside the kernel is student-controlled: `labkit.check` can be replaced,
check outputs forged, "✔ passed" printed, the `passed` field set to anything. So the grader trusts
nothing the kernel says about *verdicts*. It reads only the CHECK_MIME outputs' `answer` (and
`context`), and decides itself:

- the question's **visible check** (the public `labkit.checks` function, with its registered
  points) is re-run against the instructor's **trusted context** when the lab's instructor module
  gives one (recomputed by the grader), else against the exported context (then only hidden checks
  guard that question against forged inputs);
- the question's **hidden checks** compare the answer with values the grader computes independently
  (same seed, same simulator).

All of them run in the sandboxed evaluator process (`labkit.grading.evaluator`), each within a
CPU-time budget, never in the grader's own process: an answer that makes a check run for ever or
exhaust memory costs that question, not the grader, and no other student's load can make an honest
check run out of time.

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
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks import CHECK_MIME, lookup
from . import isolation
from .execute import OK, Execution
from .hidden import Instructor
from .isolation import Limits, Protection
from .submission import ReleasedLab, check_cells

VISIBLE = "visible"
HIDDEN = "hidden"
ANSWERED, NOT_ANSWERED = "answered", "not answered"
CHECK_CPU_SECONDS = 60.0   # one check's (or trusted context's) CPU-time budget in the evaluator
BACKSTOP_SECONDS = 900.0   # wall time for one question's checks: only a stuck evaluator meets it
LIFETIME_CPU_SECONDS = 10**7  # the evaluator's RLIMIT_CPU: in effect none (budgets are per check)


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
          seed: int, parameters: Mapping[str, Any], data_dir: Path,
          cpu_seconds: float = CHECK_CPU_SECONDS) -> tuple[list[QuestionOutcome], list[str]]:
    """Every graded question's outcome, and grader problems (instructor-module errors) if any;
    `cpu_seconds` is each check's CPU-time budget."""
    nb = execution.notebook
    given_answers = answers(nb)
    outcomes, problems = [], []
    for question in lab.questions:
        outcome, problem = _question(question, nb, execution, given_answers.get(question), lab, instructor,
                                     evaluator, seed=seed, parameters=parameters, data_dir=data_dir,
                                     cpu_seconds=cpu_seconds)
        outcomes.append(outcome)
        problems.extend(problem)
    return outcomes, problems


def _question(question: str, nb: Any, execution: Execution, answer: Answer | None, lab: ReleasedLab,
              instructor: Instructor, evaluator: Evaluator, *, seed: int, parameters: Mapping[str, Any],
              data_dir: Path, cpu_seconds: float) -> tuple[QuestionOutcome, list[str]]:
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
    reply = evaluator.evaluate({
        "question": question, "answer": _plain(value), "exported": _plain(exported), "lab": lab.lab,
        "instructor_digest": instructor.digest, "instructor_source": instructor.source,
        "instructor_file": instructor.filename, "seed": seed, "parameters": dict(parameters),
        "constants": dict(lab.constants), "data_dir": str(data_dir), "cpu_seconds": cpu_seconds})
    problems = [str(p) for p in reply.get("problems", [])]
    if "error" in reply:
        problems.append(f"the checks of {question} could not run: {reply['error']}")
    return QuestionOutcome(question, ANSWERED, "", number, seconds, _outcomes(question, reply, instructor),
                           tuple(flags)), problems


def _plain(value: Any) -> Any:
    """An output's JSON as plain dicts and lists: unpickling nbformat's NotebookNode would make the
    evaluator import nbformat (about a second) before its first check."""
    return json.loads(json.dumps(value))


def _outcomes(question: str, reply: Mapping[str, Any], instructor: Instructor) -> tuple[CheckOutcome, ...]:
    """The evaluator's reply as check outcomes; a check it did not report failed with its reason."""
    missing = str(reply.get("failure") or "the grader could not check this question (reported to the instructor)")
    visible = reply.get("visible") or {"passed": False, "message": missing, "seconds": 0.0}
    points = visible_points(question)
    passed = bool(visible.get("passed"))
    checks = [CheckOutcome(question, question, VISIBLE, points if passed else 0.0, points, passed,
                           str(visible.get("message", "")), "always", "", float(visible.get("seconds", 0.0)),
                           str(reply.get("context", "")))]
    results = {str(item.get("id")): item for item in reply.get("hidden", []) if isinstance(item, dict)}
    for check in instructor.checks_for(question):
        item = results.get(check.id) or {"passed": False, "message": missing, "seconds": 0.0}
        passed = bool(item.get("passed"))
        checks.append(CheckOutcome(question, check.id, HIDDEN, check.points if passed else 0.0, check.points, passed,
                                   str(item.get("message", "")), check.visibility, check.message,
                                   float(item.get("seconds", 0.0))))
    return tuple(checks)


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


# --------------------------------------------------------------------------- the evaluator process


class Evaluator:
    """A sandboxed `labkit.grading.evaluator` process, started on first use and reused.

    One per grader process (a class of 200 pays for one interpreter start per worker, not 200).
    A question whose checks outlast the backstop, or kill the evaluator (a memory limit), scores zero
    for those checks, and the process is replaced for the next question. Not shared between threads.
    """

    def __init__(self, course_root: Path, protection: Protection, limits: Limits = Limits(),
                 timeout: float = BACKSTOP_SECONDS) -> None:
        self.course_root = course_root
        self.protection = protection
        self.limits = limits
        self.timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stack: contextlib.ExitStack | None = None
        self._lock = threading.Lock()

    def evaluate(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One question's checks (see `labkit.grading.evaluator.answer`); on failure, a reply whose
        `failure` says why every check of the question failed."""
        try:
            data = pickle.dumps(dict(request))
        except Exception as exc:
            return {"failure": f"could not send this answer to the checker ({type(exc).__name__})"}
        with self._lock:
            for attempt in range(2):  # a process that died since the last question is replaced once
                try:
                    return self._ask(data)
                except (BrokenPipeError, EOFError):
                    self.close()
                    if attempt:  # it died on this very question: its memory limit, or worse
                        return {"failure": "the checks of this answer stopped the checker (its memory or "
                                           "process limit)"}
                except TimeoutError:
                    self.close()
                    return {"failure": f"the checks did not finish within {self.timeout:g} s"}
            return {"failure": "the checker process failed"}

    def start(self) -> None:
        """Start the process now, if it is not running: a job calls this before executing the
        notebook, so the evaluator's interpreter boots while the kernel works instead of after."""
        with self._lock:
            self._start()

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
        stack.callback(isolation.remove_job_dir, job_dir)
        uid = stack.enter_context(isolation.own_uid(self.protection))
        cgroups = stack.enter_context(isolation.share(self.protection, self.limits, job_dir.name))
        workdir = isolation.make_workdir(job_dir, "w", uid, self.protection, self.limits)
        env = isolation.student_environment(os.environ, home=workdir / "home", seed=0, time_scale=0.0)
        # Each check has its own CPU budget; a lifetime CPU limit would instead fail whichever student's
        # check happened to run when a long class run had used it up.
        limits = dataclasses.replace(self.limits, cpu_seconds=LIFETIME_CPU_SECONDS)
        spec = isolation.write_spec(job_dir, protection=self.protection, uid=uid, workdir=workdir,
                                    course_root=self.course_root, env=env, limits=limits, cgroups=cgroups)
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

