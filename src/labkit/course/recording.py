"""`labkit record`: re-execute lessons and solutions and store their outputs in place, for nbval.

nbval compares a fresh run against the outputs stored in the committed notebook, so those outputs
must come from a clean, reproducible run: a fresh kernel (execution counts 1, 2, 3 ...), the offline
simulator with the default seed, and no key in reach. nbclient executes the notebook as it is, so
no papermill metadata or injected-parameters cell ends up in the committed file. A notebook that
fails is left exactly as it was. Labs are refused: they are generated from solutions without outputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import config
from ..errors import LabkitError
from .runner import (FAILED, KERNEL, RAN, TIMEOUT, CellError, Outcome, add_common_arguments,
                     cell_error, collect_notebooks, display_name, first_line, run_jobs, stderr_to)

LABS = "labs"
RECORDED = "recorded"

EPILOG = """\
examples:
  labkit record                                every lesson and solution
  labkit record notebooks/00_start_here.ipynb  one notebook

Each notebook runs top to bottom in a fresh kernel (execution counts 1, 2, 3 ...) on the offline
simulator (LABKIT_BACKEND=sim) with the given seed and time scale and the default model; kernels
never see ANTHROPIC_API_KEY. A notebook is written back only when every cell succeeded.
Exit status: 0 when every notebook was recorded, 1 when any failed (those are left unchanged),
2 on bad input.
"""


@dataclasses.dataclass(frozen=True)
class RecordJob:
    """One notebook to re-execute in place, picklable for a worker process."""

    source: Path
    name: str
    timeout: float
    start_timeout: float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument(
        "paths", nargs="*", metavar="NOTEBOOK_OR_FOLDER",
        help="lessons or solutions to record, or folders of them; default: the course's notebooks/ "
             "then solutions/ (labs/ is refused: labs carry no outputs)")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed (default: 0)")
    parser.add_argument(
        "--time-scale", type=float, default=config.DEFAULT_TIME_SCALE, metavar="FLOAT",
        help=f"fraction of each modelled API latency the simulator really waits "
             f"(default: {config.DEFAULT_TIME_SCALE:g})")
    add_common_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Validate, refuse labs, record every notebook in worker processes, report each one."""
    cfg = config.resolve(backend="sim", seed=args.seed, time_scale=args.time_scale)
    _refuse_labs(args.paths, cfg.root)
    notebooks = collect_notebooks(args.paths, cfg.root)
    jobs = [RecordJob(path, display_name(path, cfg.root), args.timeout, args.start_timeout)
            for path in notebooks]
    outcomes = run_jobs(record_notebook, jobs, workers=args.workers, env=recording_environment(cfg),
                        progress=args.progress, desc="labkit record")
    print(report(outcomes))
    return 0 if all(outcome.ok for outcome in outcomes) else 1


def recording_environment(cfg: config.Config) -> dict[str, str | None]:
    """Simulator, fixed seed and scale, default model, and no API key for the kernels."""
    return {config.ENV_BACKEND: "sim", config.ENV_SEED: str(cfg.seed),
            config.ENV_TIME_SCALE: repr(cfg.time_scale), config.ENV_MODEL: None, config.ENV_API_KEY: None}


def _refuse_labs(paths: Sequence[str | Path], root: Path) -> None:
    """Labs are generated without outputs by `labkit build-labs`: recording one would be undone."""
    labs = (root / LABS).resolve()
    for path in paths:
        resolved = Path(path).resolve()
        if resolved == labs or labs in resolved.parents or resolved.name == LABS or resolved.parent.name == LABS:
            raise LabkitError(f"{path} is under labs/: labs carry no outputs (labkit build-labs writes them "
                              "from solutions/); record the solution instead")


def record_notebook(job: RecordJob) -> Outcome:
    """Worker entry point: execute in a fresh kernel; write back only if every cell succeeded."""
    import nbformat

    start = time.perf_counter()
    try:
        nb = nbformat.read(str(job.source), as_version=4)
        with stderr_to(None):  # kernel warnings would tear the progress bar apart
            failure = _execute(nb, job)
    except Exception as exc:  # unreadable notebook, kernel would not start...
        failure = FAILED, CellError(None, "", type(exc).__name__, first_line(str(exc)))
    if failure is None:
        _number_cells(nb)
        _write(nb, job.source)
    status, error = failure or (RAN, None)
    return Outcome(job.name, job.source, job.source, status, time.perf_counter() - start, error)


def _execute(nb: Any, job: RecordJob) -> tuple[str, CellError] | None:
    """Run every cell; None on success, else the status and the failing cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for cell in nb.cells:
        if cell.cell_type == "code":  # empty cells are skipped by nbclient: clear them too
            cell.outputs, cell.execution_count = [], None
    started: list[int] = []
    client = NotebookClient(
        nb, timeout=job.timeout, startup_timeout=job.start_timeout, kernel_name=KERNEL,
        resources={"metadata": {"path": str(job.source.parent)}},
        record_timing=False,  # no timestamps in committed cells: diffs show only real changes
        force_raise_errors=True,  # like papermill: an error output fails even in a raises-exception cell
        on_cell_start=lambda cell, cell_index: started.append(cell_index))
    try:
        client.execute()
    except CellExecutionError as exc:
        return FAILED, cell_error(nb, _last(started), exc.ename, exc.evalue)
    except TimeoutError:
        return TIMEOUT, cell_error(nb, _last(started), "timeout", f"cell still running after {job.timeout:g} s")
    except Exception as exc:  # the kernel died
        return FAILED, cell_error(nb, _last(started), type(exc).__name__, first_line(str(exc)))
    return None


def _last(started: list[int]) -> int | None:
    """The cell that was running when execution stopped."""
    return started[-1] if started else None


def _number_cells(nb: Any) -> None:
    """Execution counts 1..N in cell order, as a fresh top-to-bottom run shows them."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.execution_count is not None:
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = count


def _write(nb: Any, path: Path) -> None:
    """Write atomically: an interrupted write never leaves a half notebook behind."""
    import nbformat

    temporary = path.with_name(f".{path.name}.recording")
    nbformat.write(nb, str(temporary))
    os.replace(temporary, path)


def report(outcomes: Sequence[Outcome]) -> str:
    """One line per notebook, the failing cell under each failure, then a count."""
    lines = []
    for outcome in outcomes:
        status = RECORDED if outcome.ok else outcome.status
        lines.append(f"{status:<9} {outcome.name}  ~{outcome.seconds:.1f} s")
        if outcome.error is not None:
            lines.append(f"          ✘ {outcome.error.line()} (notebook left unchanged)")
    failed = sum(not outcome.ok for outcome in outcomes)
    lines.append(f"{len(outcomes)} notebook{'s' if len(outcomes) != 1 else ''}: "
                 f"{len(outcomes) - failed} recorded, {failed} failed")
    return "\n".join(lines)
