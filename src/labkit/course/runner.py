"""`labkit run`: execute notebooks headlessly with papermill, several at once, and print a scorecard.

Each notebook runs in its own papermill execution (its own kernel) inside a worker process, so one
notebook that fails, hangs or kills its kernel never costs another notebook its result. Outputs go to
a separate folder (never in place) so the committed, recorded notebooks stay untouched.

The helpers that find notebooks, run jobs in worker processes and describe a failing cell are shared
with `labkit record` (`labkit.course.recording`).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

from .. import config
from ..errors import LabkitError
from . import scorecard

RAN, FAILED, TIMEOUT = "ran", "FAILED", "timeout"  # "ran": no error; criteria and checks say the rest
DEFAULT_DIRS = ("notebooks", "solutions")
DEFAULT_OUT = Path("runs") / "latest"
DEFAULT_TIMEOUT = 120.0
DEFAULT_START_TIMEOUT = 60.0
KERNEL = "python3"
INJECTED_TAG = "injected-parameters"
MAX_ERROR_CHARS = 200

EPILOG = """\
examples:
  labkit run                                   every lesson and solution, offline, 2 workers
  labkit run notebooks/00_start_here.ipynb --seed 7 --out /tmp/run --workers 1

Each notebook's parameters cell gets BACKEND, SEED and TIME_SCALE (only the names it declares);
LABKIT_BACKEND, LABKIT_SEED and LABKIT_TIME_SCALE are also set for every kernel. The scorecard is
printed and written to OUT/scorecard.json. Exit status: 0 when every notebook ran without error,
1 when any failed or timed out, 2 on bad input. An unmet success criterion is reported in the
scorecard but does not by itself fail the run.
"""


@dataclasses.dataclass(frozen=True)
class CellError:
    """Where and why a notebook stopped: enough to find the cell, without a traceback wall."""

    cell: int | None  # 1-based number among the source notebook's code cells (None: not in a cell)
    source: str  # the cell's first non-blank line
    ename: str
    evalue: str

    def line(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "notebook"
        code = f" ({self.source})" if self.source else ""
        detail = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        return f"{where}{code}: {detail}"


@dataclasses.dataclass(frozen=True)
class Job:
    """One notebook execution, picklable so it can be sent to a worker process."""

    source: Path
    output: Path
    name: str  # the path shown to people: relative to the course root (or cwd)
    parameters: Mapping[str, Any]
    timeout: float
    start_timeout: float
    log: Path | None = None  # where the kernel's own stderr chatter goes (None: discarded)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """The result of one job: what the scorecard and the record report are built from."""

    name: str
    source: Path
    output: Path | None
    status: str  # RAN, FAILED or TIMEOUT
    seconds: float
    error: CellError | None = None
    log: Path | None = None  # the kernels' stderr, kept for failed notebooks

    @property
    def ok(self) -> bool:
        return self.status == RAN


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `labkit run` (shared ones come from `add_common_arguments`)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "paths", nargs="*", metavar="NOTEBOOK_OR_FOLDER",
        help="notebooks to run, or folders whose *.ipynb to run (sorted); default: the course's "
             "notebooks/ then solutions/")
    parser.add_argument(
        "--out", metavar="DIR", type=Path, default=None,
        help="folder for the executed copies, mirroring each notebook's path under the course root "
             f"(default: {DEFAULT_OUT}/ under the course root); inputs are never modified")
    parser.add_argument(
        "--backend", default="sim", metavar="{sim,live}",
        help="sim: offline simulated Claude API (default); live: the real API, needs "
             f"{config.ENV_API_KEY} in the environment")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed (default: 0)")
    parser.add_argument(
        "--time-scale", type=float, default=config.DEFAULT_TIME_SCALE, metavar="FLOAT",
        help="fraction of each modelled API latency the simulator really waits "
             f"(default: {config.DEFAULT_TIME_SCALE:g}; no effect live)")
    add_common_arguments(parser)


def add_common_arguments(parser: argparse.ArgumentParser, *, workers_help: str | None = None,
                         timeout_help: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Options shared by `labkit run`, `labkit record` and `labkit grade`: workers, timeouts, progress
    bar. A command whose workers or timeout mean something else words their help itself."""
    parser.add_argument(
        "--workers", type=_positive_int, default=default_workers(), metavar="N",
        help=workers_help or f"notebooks executed at once, one kernel each (default: {default_workers()}, "
                             "i.e. min(2, CPU count))")
    parser.add_argument(
        "--timeout", type=_positive_float, default=timeout, metavar="SECONDS",
        help=timeout_help or f"per-cell time limit; a cell running longer stops its notebook (default: {timeout:g})")
    parser.add_argument(
        "--start-timeout", type=_positive_float, default=DEFAULT_START_TIMEOUT, metavar="SECONDS",
        help=f"how long to wait for each kernel to start (default: {DEFAULT_START_TIMEOUT:g})")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false",
        help="hide the progress bar over notebooks")


def default_workers() -> int:
    """Two kernels at once: faster than one, without starving a laptop's memory."""
    return max(1, min(2, os.cpu_count() or 1))


def main(args: argparse.Namespace) -> int:
    """Validate everything first (no kernel starts on bad input), run, print and save the scorecard."""
    cfg = config.resolve(backend=args.backend, seed=args.seed, time_scale=args.time_scale)
    notebooks = collect_notebooks(args.paths, cfg.root)
    out = (args.out if args.out is not None else cfg.root / DEFAULT_OUT).resolve()
    jobs = [make_job(path, cfg, out, args) for path in notebooks]
    _refuse_collisions(jobs)

    outcomes = run_jobs(execute, jobs, workers=args.workers, env=worker_environment(cfg),
                        progress=args.progress, desc="labkit run")
    card = scorecard.build(outcomes, settings=cfg.describe(), out=out)
    out.mkdir(parents=True, exist_ok=True)
    card.write_json(out / "scorecard.json")
    print(card.text(relative_to=Path.cwd()))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


# --------------------------------------------------------------------------- finding notebooks


def collect_notebooks(paths: Sequence[str | Path], root: Path,
                      default_dirs: Sequence[str] = DEFAULT_DIRS) -> list[Path]:
    """The notebooks to work on, resolved, in order, each once; bad paths fail before any kernel starts."""
    if paths:
        found = [nb for path in paths for nb in _expand(Path(path))]
    else:
        found = [nb for folder in default_dirs for nb in _notebooks_in(root / folder)]
        if not found:
            raise LabkitError(f"no notebooks found in {', '.join(d + '/' for d in default_dirs)} of {root}")
    return list(dict.fromkeys(path.resolve() for path in found))


def _expand(path: Path) -> list[Path]:
    if not path.exists():
        raise LabkitError(f"no such notebook or folder: {path}")
    if path.is_dir():
        notebooks = _notebooks_in(path)
        if not notebooks:
            raise LabkitError(f"no notebooks (*.ipynb) in folder {path}")
        return notebooks
    if path.suffix != ".ipynb":
        raise LabkitError(f"not a notebook (expected a .ipynb file): {path}")
    return [path]


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if p.is_file()) if folder.is_dir() else []


def display_name(path: Path, root: Path) -> str:
    """A short, stable name: relative to the course root, else to the cwd, else absolute."""
    for base in (root, Path.cwd()):
        with contextlib.suppress(ValueError):
            return path.resolve().relative_to(base.resolve()).as_posix()
    return path.as_posix()


def declared_parameters(path: Path) -> set[str]:
    """Names in the notebook's `parameters` cell: only these are injected, so papermill never warns."""
    import papermill

    try:
        return set(papermill.inspect_notebook(str(path)))
    except Exception as exc:  # malformed JSON, not a notebook, unknown language...
        raise LabkitError(f"cannot read notebook {path}: {first_line(str(exc)) or type(exc).__name__}") from None


# --------------------------------------------------------------------------- jobs


def make_job(path: Path, cfg: config.Config, out: Path, args: argparse.Namespace) -> Job:
    """The papermill execution of one notebook, with its output mirrored under `out`."""
    name = display_name(path, cfg.root)
    relative = Path(name) if not Path(name).is_absolute() else Path(path.name)
    output = out / relative
    if output.resolve() == path.resolve():
        raise LabkitError(f"--out {out} would overwrite {name} in place: choose another folder")
    wanted = {"BACKEND": cfg.backend, "SEED": cfg.seed, "TIME_SCALE": cfg.time_scale}
    declared = declared_parameters(path)
    parameters = {key: value for key, value in wanted.items() if key in declared}
    return Job(source=path, output=output, name=name, parameters=parameters, timeout=args.timeout,
               start_timeout=args.start_timeout, log=output.with_suffix(".log"))


def _refuse_collisions(jobs: Sequence[Job]) -> None:
    seen: dict[Path, str] = {}
    for job in jobs:
        if job.output in seen:
            raise LabkitError(f"{seen[job.output]} and {job.name} would both be written to {job.output}")
        seen[job.output] = job.name


def worker_environment(cfg: config.Config) -> dict[str, str | None]:
    """LABKIT_* settings for every kernel, so notebooks without a parameters cell agree too."""
    return {config.ENV_BACKEND: cfg.backend, config.ENV_SEED: str(cfg.seed),
            config.ENV_TIME_SCALE: repr(cfg.time_scale)}


def execute(job: Job) -> Outcome:
    """Worker entry point: one papermill execution; every failure becomes an Outcome, never a raise."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    job.output.parent.mkdir(parents=True, exist_ok=True)
    for stale in (job.output, job.log):  # a previous run's file must never be mistaken for this one's
        if stale is not None:
            stale.unlink(missing_ok=True)
    start = time.perf_counter()
    status, error = RAN, None
    try:
        with stderr_to(job.log):
            papermill.execute_notebook(
                str(job.source), str(job.output), parameters=dict(job.parameters), kernel_name=KERNEL,
                progress_bar=False, log_output=False, cwd=str(job.source.parent),
                execution_timeout=job.timeout, start_timeout=job.start_timeout)
    except PapermillExecutionError as exc:
        status, error = FAILED, error_from_file(job.output, exc.ename, exc.evalue)
    except TimeoutError:  # nbclient's CellTimeoutError
        limit = f"cell still running after {job.timeout:g} s"
        status, error = TIMEOUT, error_from_file(job.output, "timeout", limit)
    except Exception as exc:  # kernel died or would not start, unreadable notebook...
        status, error = FAILED, error_from_file(job.output, type(exc).__name__, first_line(str(exc)))
    if status == RAN and job.log is not None:
        job.log.unlink(missing_ok=True)  # keep kernel logs only where they can explain a failure
    output = job.output if job.output.exists() else None
    log = job.log if job.log is not None and job.log.exists() else None
    return Outcome(job.name, job.source, output, status, time.perf_counter() - start, error, log)


@contextlib.contextmanager
def stderr_to(path: Path | None) -> Iterator[None]:
    """Send this process's stderr (inherited by the kernels it starts) to `path` or to nowhere.

    Kernels print warnings and teardown tracebacks on stderr; in a terminal they would tear the
    progress bar apart and bury the scorecard. The log beside the output keeps them for debugging.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    target = str(path) if path is not None else os.devnull
    try:
        with open(target, "w") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


# --------------------------------------------------------------------------- describing failures


def error_from_file(path: Path, ename: str, evalue: str) -> CellError:
    """Locate the failing cell in the notebook papermill wrote (it is written even on failure)."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # nothing written (e.g. failed before execution started)
        return CellError(None, "", ename, _shorten(evalue))
    return cell_error(nb, failing_cell(nb), ename, evalue)


def failing_cell(nb: Any) -> int | None:
    """Index of the cell that stopped execution: the first with an error output, else the last started."""
    started = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if any(out.get("output_type") == "error" for out in cell.get("outputs", [])):
            return index
        if cell.metadata.get("papermill", {}).get("start_time"):
            started = index
    return started


def cell_error(nb: Any, index: int | None, ename: str, evalue: str) -> CellError:
    """Number the cell as the author sees it: among code cells, not counting papermill's injected one."""
    if index is None:
        return CellError(None, "", ename, _shorten(evalue))
    number = sum(1 for cell in nb.cells[: index + 1]
                 if cell.cell_type == "code" and INJECTED_TAG not in cell.metadata.get("tags", []))
    return CellError(number, _shorten(first_line(nb.cells[index].source), 60), ename, _shorten(evalue))


def first_line(text: str) -> str:
    """The first non-blank line, stripped: error messages and cell sources shown in one line."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _shorten(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- worker processes

J = TypeVar("J")
R = TypeVar("R")


def run_jobs(fn: Callable[[J], R], jobs: Sequence[J], *, workers: int, env: Mapping[str, str | None],
             progress: bool, desc: str, on_crash: Callable[[J, BaseException], R] | None = None) -> list[R]:
    """Run `fn(job)` for each job in worker processes; results come back in job order.

    Spawned (not forked) workers start clean: no inherited event loops, ZMQ sockets or threads.
    `env` is applied in each worker (None removes a variable), so the kernels it starts inherit it.
    A worker process that dies turns into `on_crash(job, exc)` for its job instead of losing the run.
    """
    from tqdm import tqdm

    on_crash = on_crash or crashed
    results: dict[int, R] = {}
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs))), mp_context=context,
                               initializer=_prepare_worker, initargs=(dict(env),))
    try:
        futures: dict[Future[R], int] = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        with tqdm(total=len(jobs), desc=desc, unit="nb", disable=not progress, file=sys.stderr) as bar:
            for future in as_completed(futures):
                index = futures[future]
                try:
                    results[index] = future.result()
                except Exception as exc:  # the worker process itself died (BrokenProcessPool, ...)
                    results[index] = on_crash(jobs[index], exc)
                bar.set_postfix_str(str(getattr(jobs[index], "name", "")), refresh=False)
                bar.update(1)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]


def crashed(job: Any, exc: BaseException) -> Outcome:
    """The outcome of a job whose worker process died before reporting."""
    output = getattr(job, "output", None)
    return Outcome(job.name, job.source, output if output is not None and output.exists() else None,
                   FAILED, 0.0, CellError(None, "", type(exc).__name__, _shorten(first_line(str(exc)))))


def _prepare_worker(env: Mapping[str, str | None]) -> None:
    """Pool initializer: kernels inherit the worker's environment, so settings go there."""
    for name, value in env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
