"""`labkit grade`: grade submissions headlessly, in sandboxed fresh kernels, and write a gradebook."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import config
from ..course import runner
from . import classroom
from .execute import OutputCaps, Settings
from .isolation import Limits

DEFAULT_OUT = Path("graded")
DEFAULT_CELL_TIMEOUT = 120.0

EPILOG = """\
examples:
  labkit grade submissions/                       every alice.ipynb or bob/<lab>.ipynb under it
  labkit grade submissions/ --workers 4 --out graded
  labkit grade submissions/ --after-deadline      re-render feedback (no re-execution for graded ones)
  labkit grade alice.ipynb --lab 00 --force

Each submission runs in a fresh kernel on the offline simulator with a fixed seed (secrets removed
from its environment, resource limits, and as root: no network, a read-only view of only the
student's course files, its own uid). Visible checks are re-run and hidden checks
(INSTRUCTOR/hidden/labNN.py) evaluated outside the kernel. Written to OUT: records/<student>/<lab>.json,
feedback/<student>/<lab>.md and .html, executed/<student>/<lab>.ipynb, gradebook.csv. A re-run
resumes (unchanged, already graded submissions are not executed again). Exit status: 0 when every
submission was graded (whatever its score), 1 when any could not be, 2 on bad input.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("paths", nargs="+", metavar="SUBMISSION_OR_FOLDER",
                        help="submitted notebooks, or folders of them (student = file stem, or sub-folder name)")
    parser.add_argument("--lab", metavar="NN", default=None,
                        help="the lab every submission answers (default: read from its check calls)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help="where records, feedback, executed notebooks and the gradebook go "
                             f"(default: {DEFAULT_OUT}/)")
    parser.add_argument("--instructor", type=Path, default=None, metavar="DIR",
                        help="folder holding hidden/labNN.py (default: instructor/ in the course folder)")
    parser.add_argument("--seed", type=int, default=0, help="simulator seed every submission runs with (default: 0)")
    parser.add_argument("--time-scale", type=float, default=config.DEFAULT_TIME_SCALE, metavar="FLOAT",
                        help=f"simulator time scale (default: {config.DEFAULT_TIME_SCALE:g})")
    parser.add_argument("--force", action="store_true", help="regrade submissions that already have a record")
    parser.add_argument("--after-deadline", action="store_true",
                        help="feedback also describes hidden checks whose visibility is after_deadline")
    limits = parser.add_argument_group("limits of each student kernel")
    limits.add_argument("--notebook-timeout", type=runner._positive_float, default=Settings.notebook_timeout,
                        metavar="SECONDS", help=f"whole-notebook limit (default: {Settings.notebook_timeout:g})")
    limits.add_argument("--memory-mb", type=runner._positive_int, default=Limits.memory_mb, metavar="MB",
                        help=f"address-space limit (default: {Limits.memory_mb})")
    limits.add_argument("--cpu-seconds", type=runner._positive_int, default=Limits.cpu_seconds, metavar="S",
                        help=f"CPU time limit (default: {Limits.cpu_seconds})")
    limits.add_argument("--max-output-mb", type=runner._positive_int, default=OutputCaps.notebook_mb, metavar="MB",
                        help=f"output kept per notebook (default: {OutputCaps.notebook_mb})")
    limits.add_argument("--no-sandbox", action="store_true",
                        help="no namespaces or separate user even as root (limits and secret removal still apply)")
    runner.add_common_arguments(
        parser, timeout=DEFAULT_CELL_TIMEOUT,
        workers_help=f"submissions graded at once, one kernel each (default: {runner.default_workers()})",
        timeout_help=(f"per-cell time limit: a cell running longer is interrupted and its question scores "
                      f"zero; the rest is still graded (default: {DEFAULT_CELL_TIMEOUT:g})"))


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(seed=args.seed, time_scale=args.time_scale, cell_timeout=args.timeout,
                    start_timeout=args.start_timeout, notebook_timeout=args.notebook_timeout,
                    limits=Limits(memory_mb=args.memory_mb, cpu_seconds=args.cpu_seconds),
                    caps=OutputCaps(notebook_mb=args.max_output_mb), sandbox=not args.no_sandbox)


def main(args: argparse.Namespace) -> int:
    config.resolve(backend="sim", seed=args.seed, time_scale=args.time_scale)  # validates the values
    result = classroom.grade_class(args.paths, out=args.out, workers=args.workers, force=args.force,
                                   progress=args.progress, lab=args.lab, settings=settings_from(args),
                                   after_deadline=args.after_deadline, instructor_dir=args.instructor)
    print(summary(result))
    return 1 if result.failed else 0


def summary(result: classroom.ClassResult) -> str:
    """One line per submission, then where everything is."""
    width = max([len(str(r.get("student"))) for r in result.records] + [7])
    lines = [f"{'student':<{width}}  lab  score        status"]
    for rec in result.records:
        score = f"{rec.get('score', 0):g}/{rec.get('max_score', 0):g}"
        status = rec.get("status", "?")
        if status != "graded":
            status += f": {rec.get('error', '')}"
        elif rec.get("flags"):
            status += f" ({len(rec['flags'])} flag{'s' if len(rec['flags']) != 1 else ''} in the record)"
        lines.append(f"{str(rec.get('student')):<{width}}  {str(rec.get('lab') or '?'):<3}  {score:<11}  {status}")
    protection = next((r.get("reproduce", {}).get("protection") for r in result.records
                       if r.get("reproduce", {}).get("protection")), None)
    lines.append("")
    lines.append(f"{len(result.records)} submission(s): {result.graded} graded now, {result.resumed} resumed, "
                 f"{len(result.failed)} could not be graded")
    if protection and protection.get("note"):
        lines.append(f"note: {protection['note']}")
    lines.append(f"gradebook: {result.out / classroom.GRADEBOOK}; records, feedback and executed notebooks "
                 f"in {result.out}/")
    return "\n".join(lines)

