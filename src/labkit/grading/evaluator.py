"""The evaluator process: where every check of a submission runs, out of the student's kernel.

    python -I -m labkit.grading.evaluator      (started by the grader through the sandbox launcher)

Why a process of its own: the answer, and the context when the instructor gives no trusted one, come
from the student's kernel. A check fed a forged context could be made to read files the student
names (then quote them in a hint) or to run for ever; an answer could be built to exhaust memory (a
YAML alias bomb once did). Here checks run sandboxed like a kernel (no network, no instructor/ or
solutions/, the same limits), on code the student never touched: a fresh interpreter started with
`-I`. The instructor's module arrives as source text in the request (the process cannot read
instructor/), so its trusted contexts and hidden checks run here too, never in the grader.

Each check has a **CPU-time** budget (`signal.ITIMER_PROF`): CPU time is what the check itself uses,
so a busy machine or a classmate's runaway process cannot make an honest check run out of time, as a
wall-clock limit would.

Protocol on stdin/stdout: each request is a 4-byte big-endian length and a pickle of a dict of plain
data written by the grader (see `labkit.grading.evaluate.Evaluator.evaluate`); each reply is one JSON
line. Anything a check prints goes to stderr, so it cannot corrupt a reply. EOF on stdin ends it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO


class OutOfTime(BaseException):
    """A check used up its CPU-time budget (a BaseException: a check's `except Exception` cannot keep it)."""


@contextlib.contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Raise OutOfTime in this thread once the process has used `seconds` more of CPU time."""
    def expire(signum: int, frame: Any) -> None:
        raise OutOfTime

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def run(fn: Any, seconds: float) -> tuple[Any, BaseException | None, float]:
    """`fn()` within a CPU budget: (value, what it raised or None, CPU seconds used)."""
    started = time.process_time()
    try:
        with cpu_budget(seconds):
            return fn(), None, time.process_time() - started
    except (OutOfTime, Exception) as exc:  # an answer of the wrong shape, an instructor bug, a runaway
        return None, exc, time.process_time() - started


def failure(exc: BaseException, seconds: float) -> str:
    """What a student reads about a check that could not finish (the type only: no message leaks)."""
    if isinstance(exc, OutOfTime):
        return f"the check did not finish within {seconds:g} s of CPU time"
    return f"could not check this answer ({type(exc).__name__})"


def verdict_of(result: Any) -> tuple[bool, str]:
    """A check's result as (passed, message): a visible check's CheckResult, or a hidden check's
    Verdict or bool."""
    from labkit.checks import CheckResult, Verdict

    if isinstance(result, (Verdict, CheckResult)):
        return bool(result.passed), str(result.message)
    if isinstance(result, bool) or type(result).__name__ == "bool_":
        return bool(result), ""
    return False, f"the check returned {type(result).__name__}, not a verdict"


def answer(request: Mapping[str, Any], modules: dict[str, Any]) -> dict[str, Any]:
    """Every check of one question: its trusted context (if any), its visible check, its hidden checks."""
    from labkit import checks
    from labkit.grading import hidden

    question, value, cpu = request["question"], request["answer"], float(request["cpu_seconds"])
    exported = request.get("exported") if isinstance(request.get("exported"), dict) else {}
    digest = request.get("instructor_digest") or "none"
    if digest not in modules:
        modules[digest] = hidden.load(request.get("lab", ""), request.get("instructor_source", ""),
                                      request.get("instructor_file") or "<instructor>")
    instructor = modules[digest]
    base = hidden.Given(question, value, exported, None, int(request["seed"]), dict(request["parameters"]),
                        dict(request["constants"]), Path(request["data_dir"]))
    reply: dict[str, Any] = {"context": "exported", "problems": []}
    context: Mapping[str, Any] = exported
    if question in instructor.contexts:
        trusted, error, _ = run(lambda: dict(instructor.contexts[question](base)), cpu)
        if error is None:
            context, reply["context"] = trusted, "trusted"
        else:  # an instructor bug must not look like a student's mistake
            detail = " ".join(str(error).split())[:200]
            reply["problems"].append(f"trusted context of {question} failed: {type(error).__name__}: {detail}")
    if reply["problems"]:
        reply["visible"] = {"passed": False, "message": "the grader could not check this question (reported to "
                                                       "the instructor)", "seconds": 0.0}
    else:
        result, error, used = run(lambda: checks.evaluate(question, value, **context), cpu)
        passed, message = verdict_of(result) if error is None else (False, failure(error, cpu))
        reply["visible"] = {"passed": passed, "message": message, "seconds": round(used, 4)}
    given = dataclasses.replace(base, trusted=context if reply["context"] == "trusted" else None)
    reply["hidden"] = []
    for check in instructor.checks_for(question):
        result, error, used = run(lambda check=check: check.fn(value, given), cpu)
        passed, message = verdict_of(result) if error is None else (False, failure(error, cpu))
        reply["hidden"].append({"id": check.id, "passed": passed, "message": message, "seconds": round(used, 4)})
    return reply


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    modules: dict[str, Any] = {}
    while True:
        header = requests.read(4)
        if len(header) < 4:
            return
        (size,) = struct.unpack(">I", header)
        request = pickle.loads(requests.read(size))
        try:
            reply = answer(request, modules)
        except Exception as exc:  # a malformed request or instructor module: the grader reports it
            reply = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        replies.write((json.dumps(reply, default=str) + "\n").encode())
        replies.flush()


def warm_up() -> None:
    """Import what every check needs and load the tokenizer (about 1.5 s) before the first request:
    the grader starts this process as a job begins, so this overlaps the notebook's run instead of
    delaying the scores. A failure here is left for the first request to report."""
    with contextlib.suppress(Exception):
        from labkit import checks, tokens  # noqa: F401
        from labkit.grading import hidden, reference  # noqa: F401

        tokens.bpe_count("warm up")
    print("WARM", time.process_time(), time.perf_counter(), file=sys.stderr, flush=True)


def main() -> int:
    requests, replies = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # a check that reads stdin (a forged path `/dev/stdin`) reads nothing, not a request
    os.dup2(2, 1)  # stray prints from checks go to stderr, never into the replies
    sys.stdin, sys.stdout = open(os.devnull, encoding="utf-8"), sys.stderr  # noqa: SIM115 (for the process)
    warm_up()
    serve(requests, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
