"""Execute one submission with papermill in a fresh, sandboxed kernel, and keep going past failures.

Why not a plain `papermill.execute_notebook`: papermill stops at the first error, has no per-cell
time budget that carries on, no output limits, and a dead kernel ends everything. Grading needs the
opposite: **a question that fails scores zero, and the rest is still graded**. So:

- cells run with nbclient's `allow_errors`: an exception in one cell is recorded and the next runs;
- a cell that exceeds its time limit is interrupted (`interrupt_on_timeout`) and marked timed out;
- a cell that kills the kernel (`os.kill(os.getpid(), 9)`, `os._exit`, a CPU limit) or that ignores
  the interrupt is *fatal*: the notebook is executed again from the top in a fresh kernel with that
  cell skipped (at most `max_restarts` times), so later questions still run. The simulator is seeded,
  so the re-run sees the same answers;
- a watchdog kills the kernel when the whole notebook exceeds its time budget, which covers every
  attempt together (re-runs do not buy a submission more time);
- every output passes an `OutputBudget`: long outputs are truncated, a flood is dropped, check
  outputs have their own allowance, and widget messages are ignored, so a student cannot exhaust
  the grader's memory or disk; zmq refuses any single message above the cap.

Parameters are injected by papermill after the `parameters` cell (the grader's seed, the offline
simulator and the released lab's own defaults for its knobs), the kernel is the grader's (never the
notebook's kernelspec), and each execution gets a fresh working folder and its own uid
(`labkit.grading.isolation`). The executed notebook stays in this (grader) process: the kernel never
writes it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import json
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import config
from ..checks import CHECK_MIME
from ..course.runner import first_line
from ..results import RECORD_MIME
from . import isolation
from .isolation import Limits, Protection

TIMEOUT_ENAME = "CellTimeoutError"
SKIP_TAG = "skip-execution"  # nbclient's default `skip_cells_with_tag`
INJECTED_TAG = "injected-parameters"
KERNEL_LOG_TAIL = 2000
IGNORED_INTERRUPT = "ignored the interrupt after its time limit"
OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "update_display_data", "error"}

# Cell outcomes, as the record and the feedback name them.
OK, ERROR, TIMEOUT, FATAL, NOT_RUN = "ok", "error", "timeout", "stopped the kernel", "not run"


@dataclasses.dataclass(frozen=True)
class OutputCaps:
    """How much output one notebook may produce (what is over is truncated or dropped, and counted)."""

    output_kb: int = 100          # one output (stream chunk, display, traceback)
    notebook_mb: int = 20         # all outputs together, check outputs aside
    check_kb: int = 256           # one check output's JSON payload
    checks: int = 200             # check outputs in one notebook
    outputs_per_cell: int = 500
    traceback_lines: int = 60

    @property
    def message_bytes(self) -> int:
        """zmq's per-message cap: a student cannot make the grader hold more than this at once."""
        return max(self.notebook_mb * 2**20, 4 * self.check_kb * 1024) + 2**20


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that shapes one execution, kept in the record so a grade can be reproduced."""

    seed: int = 0
    time_scale: float = config.DEFAULT_TIME_SCALE
    cell_timeout: float = 120.0
    start_timeout: float = 60.0
    notebook_timeout: float = 1200.0       # all attempts together
    check_cpu_seconds: float = 60.0        # each check's CPU-time budget in the evaluator
    max_restarts: int = 3
    limits: Limits = Limits()
    caps: OutputCaps = OutputCaps()
    sandbox: bool = True

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class CellRun:
    """How one code cell of the executed notebook fared."""

    index: int                    # position in the executed notebook (injected cell included)
    number: int                   # 1-based among the submission's own code cells, as the student sees them
    status: str                   # OK, ERROR, TIMEOUT, FATAL or NOT_RUN
    seconds: float | None = None
    error: str = ""               # what happened, as a phrase after `where`: "raised NameError: ..."
    source: str = ""              # the cell's first line, so a student can find it

    @property
    def where(self) -> str:
        return f"cell {self.number} (`{self.source}`)" if self.source else f"cell {self.number}"


@dataclasses.dataclass
class Execution:
    """The executed notebook and what happened, for the evaluator and the record."""

    notebook: Any                 # nbformat.NotebookNode, executed
    cells: dict[int, CellRun]     # by index in `notebook`
    attempts: int
    seconds: float
    started: bool = True          # False: no kernel could be started (a grader problem)
    problem: str = ""             # why execution stopped early, if it did
    dropped_bytes: int = 0        # output the budget truncated or dropped

    def as_dict(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "seconds": round(self.seconds, 3), "started": self.started,
                "problem": self.problem, "dropped_output_bytes": self.dropped_bytes,
                "cells": [dataclasses.asdict(c) for c in self.cells.values() if c.status != OK]}


# --------------------------------------------------------------------------- output budget


class OutputBudget:
    """Admit, truncate or drop each output message of one execution (pure bookkeeping, no I/O)."""

    def __init__(self, caps: OutputCaps) -> None:
        self.caps = caps
        self.used = 0
        self.checks = 0
        self.dropped = 0
        self.per_cell: Counter[int] = Counter()
        self.silenced: set[int] = set()

    def admit(self, msg: dict[str, Any], cell_index: int) -> dict[str, Any] | None:
        """The message to process (possibly shortened), or None to drop it."""
        kind = msg.get("msg_type")
        if kind not in OUTPUT_MESSAGES:
            return msg
        content = dict(msg.get("content") or {})
        data = content.get("data")
        if isinstance(data, dict) and CHECK_MIME in data:
            return {**msg, "content": self._check(content, data)}
        self.per_cell[cell_index] += 1
        over_count = self.per_cell[cell_index] > self.caps.outputs_per_cell
        if over_count or self.used >= self.caps.notebook_mb * 2**20:
            self.dropped += _size(content)
            if cell_index in self.silenced or kind == "update_display_data":
                return None
            self.silenced.add(cell_index)
            note = "[labkit grader: further output of this cell was dropped (output limit)]\n"
            return _as_stream(msg, note)
        content = self._shorten(kind, content)
        self.used += _size(content)
        return {**msg, "content": content}

    def _check(self, content: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        payload = data[CHECK_MIME]
        size = len(json.dumps(payload, default=str))
        self.checks += 1
        if self.checks > self.caps.checks or size > self.caps.check_kb * 1024:
            self.dropped += size
            why = "too many check outputs" if self.checks > self.caps.checks else "check output too large"
            return {**content, "data": {"text/plain": f"[labkit grader: dropped ({why})]"}}
        text = str(data.get("text/plain", ""))[: self.caps.output_kb * 1024]
        return {**content, "data": {CHECK_MIME: payload, "text/plain": text}}

    def _shorten(self, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        limit = self.caps.output_kb * 1024
        if kind == "stream":
            text = str(content.get("text", ""))
            if len(text) > limit:
                self.dropped += len(text) - limit
                content["text"] = text[:limit] + f"\n[labkit grader: {len(text) - limit:,} characters cut]\n"
        elif kind == "error":
            tb = [str(line)[:limit // 10] for line in content.get("traceback", [])]
            keep = self.caps.traceback_lines
            content["traceback"] = tb if len(tb) <= keep else tb[:keep // 2] + ["..."] + tb[-keep // 2:]
            content["evalue"] = str(content.get("evalue", ""))[:limit]
        elif isinstance(content.get("data"), dict):
            data = {}
            for mime, value in content["data"].items():
                size = len(json.dumps(value, default=str))
                if size <= limit:
                    data[mime] = value
                elif mime == "text/plain":
                    data[mime] = str(value)[:limit] + "\n[labkit grader: output cut]"
                    self.dropped += size - limit
                else:
                    self.dropped += size
            content["data"] = data or {"text/plain": "[labkit grader: output too large, dropped]"}
        return content


# What an executed notebook keeps for the instructor to open: data types that cannot run code when
# rendered. HTML, SVG (onload=...), JavaScript, Markdown (raw HTML) and widget views are dropped.
INERT_MIMES = frozenset({"text/plain", "image/png", "image/jpeg", "image/gif", "application/json",
                         CHECK_MIME, RECORD_MIME})
DROPPED_NOTE = "[labkit grader: an output that could run code when opened ({kinds}) was left out]"


def inert(nb: Any) -> Any:
    """`nb` with every output reduced to `INERT_MIMES` (in place); a dropped kind leaves a note."""
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data")
            if not isinstance(data, dict):
                continue
            dropped = sorted(mime for mime in data if mime not in INERT_MIMES)
            for mime in dropped:
                del data[mime]
            if dropped:
                plain = data.get("text/plain")
                plain = "".join(plain) if isinstance(plain, list) else plain
                note = DROPPED_NOTE.format(kinds=", ".join(dropped))
                data["text/plain"] = f"{plain}\n{note}" if isinstance(plain, str) and plain else note
    return nb


def _as_stream(msg: dict[str, Any], text: str) -> dict[str, Any]:
    """`msg` turned into a stderr stream message: type, header and content together, as nbclient
    reads the type from the header (a display_data header over stream content raises KeyError)."""
    header = {**(msg.get("header") or {}), "msg_type": "stream"}
    return {**msg, "msg_type": "stream", "header": header, "content": {"name": "stderr", "text": text}}


def _size(content: dict[str, Any]) -> int:
    try:
        return len(json.dumps(content, default=str))
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- the notebook client


@dataclasses.dataclass
class Tracker:
    """What the client saw, shared with the watchdog and the attempt loop."""

    current: int | None = None            # the cell being executed
    timed_out: set[int] = dataclasses.field(default_factory=set)
    started: dict[int, float] = dataclasses.field(default_factory=dict)
    finished: dict[int, float] = dataclasses.field(default_factory=dict)
    deadline_hit: bool = False


@functools.cache
def _client_class() -> type:
    """Built on first use: papermill and nbclient are imported only in the process that executes."""
    from papermill.clientwrap import PapermillNotebookClient

    class GradingClient(PapermillNotebookClient):
        """papermill's client with output limits, no widget state, and cell tracking."""

        def __init__(self, nb_man: Any, *, budget: OutputBudget, tracker: Tracker, **kw: Any) -> None:
            super().__init__(nb_man, **kw)
            self.budget = budget
            self.tracker = tracker

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            admitted = self.budget.admit(msg, cell_index)
            if admitted is None:
                return None
            return super().process_message(admitted, cell, cell_index)

        def handle_comm_msg(self, outs: Any, msg: Any, cell_index: int) -> None:
            return None  # widgets are not graded, and their state could grow without bound

    return GradingClient


@functools.cache
def _engine_class() -> type:
    from papermill.engines import NBClientEngine, logger

    client_class = _client_class()

    class GradingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, *, km: Any, budget: OutputBudget,
                                     tracker: Tracker, settings: Settings, log: Any, workdir: Path,
                                     **_: Any) -> Any:
            def on_execute(cell: Any, cell_index: int) -> None:
                tracker.current = cell_index
                tracker.started[cell_index] = time.monotonic()

            def on_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
                tracker.finished[cell_index] = time.monotonic()

            def on_error(cell: Any, cell_index: int, execute_reply: Any) -> None:
                if (execute_reply or {}).get("content", {}).get("ename") == TIMEOUT_ENAME:
                    tracker.timed_out.add(cell_index)

            client = client_class(
                nb_man, km=km, budget=budget, tracker=tracker, kernel_name=kernel_name, log=logger,
                timeout=max(1, round(settings.cell_timeout)), startup_timeout=max(1, round(settings.start_timeout)),
                allow_errors=True, interrupt_on_timeout=True, record_timing=False,
                error_on_timeout={"ename": TIMEOUT_ENAME, "traceback": [],
                                  "evalue": f"cell still running after {settings.cell_timeout:g} s: interrupted"},
                on_cell_execute=on_execute, on_cell_executed=on_executed, on_cell_error=on_error,
                resources={"metadata": {"path": str(workdir)}})
            return client.execute(stdout=log, stderr=log, cwd=str(workdir))

    return GradingEngine


def kernel_manager(command: list[str], workdir: Path, caps: OutputCaps) -> Any:
    """A kernel manager whose kernel starts through the sandbox launcher and talks over IPC sockets.

    IPC (Unix sockets in the working folder) rather than TCP: the kernel has no network at all,
    not even loopback, yet the grader still reaches it through the shared folder.
    """
    import zmq
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    # Interrupts go as messages on the control channel: a signal to the launcher's pid would reach
    # bubblewrap, not the kernel inside its PID namespace.
    spec = KernelSpec(argv=command + ["-f", "{connection_file}"], display_name="labkit grading",
                      language="python", interrupt_mode="message", env={})

    class OneSpec(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return spec

    km = AsyncKernelManager(kernel_name="labkit-grading", kernel_spec_manager=OneSpec(), transport="ipc",
                            ip=str(workdir / "k"), cache_ports=False)
    km.connection_file = str(workdir / "kernel.json")
    km.context.setsockopt(zmq.MAXMSGSIZE, caps.message_bytes)
    return km


# --------------------------------------------------------------------------- one submission


def execute(notebook: Any, parameters: Mapping[str, Any], settings: Settings, course_root: Path,
            protection: Protection) -> Execution:
    """Run `notebook` (already sanitised) to the end, re-running without any cell that is fatal."""
    import papermill.parameterize

    prepared = copy.deepcopy(notebook)
    prepared.metadata["papermill"] = {"default_parameters": {}, "parameters": {}, "environment_variables": {}}
    for cell in prepared.cells:  # what papermill's loader gives every cell
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    prepared = papermill.parameterize.parameterize_notebook(
        prepared, dict(parameters), kernel_name="python3", language="python")
    numbers = _student_numbers(prepared)
    limit = f"{settings.cell_timeout:g} s"
    skipped: dict[int, tuple[str, str]] = {}  # cell index -> (status, what happened), not run again
    start = time.monotonic()
    attempt, problem, started = 0, "", True
    while True:
        attempt += 1
        nb = copy.deepcopy(prepared)
        for index in skipped:
            nb.cells[index].metadata["tags"].append(SKIP_TAG)
        tracker, budget = Tracker(), OutputBudget(settings.caps)
        remaining = settings.notebook_timeout - (time.monotonic() - start)
        failure = _attempt(nb, settings, course_root, protection, tracker, budget, max(remaining, 0.001))
        if failure is None:
            break
        culprit = tracker.current  # the cell running when the kernel died or stopped answering
        if culprit is None:  # nothing ran: the kernel never came up
            started, problem = False, failure
            break
        if tracker.deadline_hit:
            problem = f"was running when the notebook reached its {settings.notebook_timeout:g} s limit"
            skipped[culprit] = (TIMEOUT, problem)
            break
        status = TIMEOUT if failure == IGNORED_INTERRUPT else FATAL
        again = "; it was skipped and the notebook run again without it"
        skipped[culprit] = (status, (f"ran longer than {limit} and ignored the interrupt" if status == TIMEOUT
                                     else failure) + again)
        for index in tracker.timed_out:  # a timeout repeats on a re-run: do not pay for it twice
            skipped.setdefault(index, (TIMEOUT, f"ran longer than {limit} and was interrupted"))
        problem = f"cell {numbers.get(culprit)} {skipped[culprit][1]}"  # kept if the restarts run out
        if attempt > settings.max_restarts:
            break
    cells = _cell_runs(nb, numbers, tracker, skipped, limit)
    return Execution(nb, cells, attempt, time.monotonic() - start, started, problem, budget.dropped)


def _attempt(nb: Any, settings: Settings, course_root: Path, protection: Protection, tracker: Tracker,
             budget: OutputBudget, seconds: float) -> str | None:
    """One execution in a fresh kernel, within `seconds` (what is left of the notebook's budget);
    None when it ran to the end, else what stopped it."""
    from jupyter_core.utils import run_sync

    job_dir = isolation.make_job_dir()
    km = None
    try:
        with isolation.own_uid(protection) as uid, \
                isolation.share(protection, settings.limits, job_dir.name) as cgroups:
            workdir = isolation.make_workdir(job_dir, "w", uid, protection, settings.limits)
            # The kernel's own output goes to a file in its size-limited working copy, not to one on
            # the grader's disk: what it can write there is bounded.
            with open(workdir / "kernel.log", "w+b") as log:
                env = isolation.student_environment(os.environ, home=workdir / "home", seed=settings.seed,
                                                    time_scale=settings.time_scale)
                if not protection.namespaces:  # in a PID namespace, bubblewrap's --die-with-parent does it
                    env["JPY_PARENT_PID"] = str(os.getpid())  # ipykernel exits if the grader dies
                spec = isolation.write_spec(job_dir, protection=protection, uid=uid, workdir=workdir,
                                            course_root=course_root, env=env, limits=settings.limits,
                                            cgroups=cgroups)
                command = isolation.launcher(spec) + [sys.executable, "-m", "ipykernel_launcher"]
                km = kernel_manager(command, workdir, settings.caps)
                km.write_connection_file()
                if uid is not None:
                    os.chown(km.connection_file, uid, uid)
                watchdog = threading.Timer(seconds, _expire, (km, tracker, uid))
                watchdog.daemon = True
                watchdog.start()
                try:
                    _engine_class().execute_notebook(
                        nb, "labkit-grading", output_path=None, progress_bar=False, log_output=False,
                        km=km, budget=budget, tracker=tracker, settings=settings, log=log, workdir=workdir)
                    return None
                except Exception as exc:  # dead kernel, unresponsive after interrupt, failed start...
                    return _describe(exc, tracker, log)
                finally:
                    watchdog.cancel()
                    with contextlib.suppress(Exception):
                        run_sync(km.shutdown_kernel)(now=True)
    finally:
        isolation.remove_job_dir(job_dir)


def _expire(km: Any, tracker: Tracker, uid: int | None) -> None:
    """Watchdog: the notebook ran out of time, so its kernel (and everything it started) is killed."""
    tracker.deadline_hit = True
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if pid:
        isolation.kill_group(pid)
    if uid is not None:
        isolation.kill_user(uid)


def _describe(exc: BaseException, tracker: Tracker, log: Any) -> str:
    """What stopped an attempt, as a phrase about the cell that was running ("stopped the kernel")."""
    name = type(exc).__name__
    if tracker.deadline_hit:
        return "ran out of time"
    if name == "DeadKernelError":
        return "stopped the kernel (it died while this cell ran)"
    if name == "CellTimeoutError":
        return IGNORED_INTERRUPT
    if tracker.current is None:  # the kernel never started: show the launcher's last words
        log.flush()
        log.seek(max(0, log.seek(0, 2) - KERNEL_LOG_TAIL))
        tail = log.read().decode("utf-8", "replace").strip().splitlines()
        detail = next((line for line in reversed(tail) if line.strip()), first_line(str(exc)))
        return f"the grader could not start a kernel ({name}: {detail})"
    return f"stopped execution ({name}: {first_line(str(exc))})"


def _student_numbers(nb: Any) -> dict[int, int]:
    """Index in the executed notebook -> the cell's number among the student's own code cells."""
    numbers, count = {}, 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and INJECTED_TAG not in cell.metadata.get("tags", []):
            count += 1
            numbers[index] = count
    return numbers


def _cell_runs(nb: Any, numbers: Mapping[int, int], tracker: Tracker,
               skipped: Mapping[int, tuple[str, str]], limit: str) -> dict[int, CellRun]:
    """Each code cell's outcome; `error` is a phrase that follows "cell N" ("raised NameError: ...")."""
    runs = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index not in numbers:
            continue
        seconds = None
        if index in tracker.started and index in tracker.finished:
            seconds = round(tracker.finished[index] - tracker.started[index], 3)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if index in skipped:
            status, error = skipped[index]
        elif index in tracker.timed_out:
            status, error = TIMEOUT, f"ran longer than {limit} and was interrupted"
        elif errors:
            status, error = ERROR, "raised " + _error_line(errors[-1])
        elif index in tracker.started and index in tracker.finished:
            status, error = OK, ""
        elif not cell.source.strip():
            status, error = OK, ""
        else:
            status, error = NOT_RUN, "did not run (execution stopped before it)"
        runs[index] = CellRun(index, numbers[index], status, seconds, error, _shorten(first_line(cell.source), 50))
    return runs


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_line(output: Mapping[str, Any]) -> str:
    ename, evalue = str(output.get("ename", "")), " ".join(str(output.get("evalue", "")).split())
    text = f"{ename}: {evalue}" if evalue else ename
    return text if len(text) <= 200 else text[:199] + "…"
