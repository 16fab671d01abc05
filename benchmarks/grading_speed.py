"""How fast the grader is: one submission against a plain papermill run, and two workers against one.

Not a test: run it by hand (as root, for the full sandbox) when the grader changes.

    .venv/bin/python benchmarks/grading_speed.py [--rounds 5] [--class-rounds 3] [--class-size 8]

1. **One submission.** The lab-00 solution run by the `papermill` command in a fresh kernel with the
   grader's parameters (the fair baseline: what running the notebook from a shell costs at all),
   against the `labkit grade` command on the same file: sanitise, sandboxed kernel, evaluator,
   trusted contexts, hidden checks, record, feedback. Both are commands started cold, so both pay for
   an interpreter and its imports. Target (issue 16): grading takes at most 1.5x papermill.
2. **A class.** `tests/grading_submissions/make.py`'s class of 8 (solutions, blank labs, wrong
   answers, crashing cells) graded by the `labkit grade` command with `--workers 1` and `--workers 2`. Target: two workers at
   least 1.8x as fast as one, on a 2-core machine.

The ceiling beside the class ratio: one worker already uses part of the second core (the kernel,
the grader and the evaluator run side by side), so two workers on two cores cannot beat one
worker's wall time over half the CPU time it used (read from /proc/stat, the whole machine).

Rows are interleaved within each round, ratios are taken within a round (so a shared machine's drift
affects both sides alike), and the median over rounds is reported, with every round's ratio beside it.
Every figure is local wall time on this machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from labkit.config import find_root
from labkit.grading import isolation
from labkit.grading.execute import Settings

ROOT = find_root()
SOLUTION = ROOT / "solutions" / "00_start_here_lab.ipynb"
ONE_TARGET, CLASS_TARGET = 1.5, 1.8


def _make():  # tests/grading_submissions/make.py writes the class
    spec = importlib.util.spec_from_file_location("make", ROOT / "tests" / "grading_submissions" / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BIN = Path(sys.executable).parent


def timed(argv: list[str], cwd: Path) -> float:
    """Seconds one command takes, start to exit; a failing command stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def papermill_run(notebook: Path, work: Path, settings: Settings) -> float:
    return timed([str(BIN / "papermill"), "--kernel", "python3", "--cwd", str(work), "--no-progress-bar",
                  "-p", "BACKEND", "sim", "-p", "SEED", str(settings.seed), "-p", "TIME_SCALE",
                  str(settings.time_scale), str(notebook), str(work / "papermill.ipynb")], work)


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent so far (Linux's /proc/stat), or None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def grade(paths: list[Path], work: Path, workers: int, settings: Settings) -> float:
    out = work / f"graded-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    return timed([str(BIN / "labkit"), "grade", *map(str, paths), "--out", str(out), "--workers", str(workers), "--no-progress",
                  "--seed", str(settings.seed), "--time-scale", str(settings.time_scale)], work)


def report(name: str, rounds: list[tuple[float, float]], target: float, higher_is_better: bool) -> bool:
    ratios = [a / b for a, b in rounds]
    median = statistics.median(ratios)
    met = median >= target if higher_is_better else median <= target
    sign = ">=" if higher_is_better else "<="
    print(f"{name}: median ratio {median:.2f}x (target {sign} {target}x: {'met' if met else 'NOT met'}); "
          f"rounds {', '.join(f'{r:.2f}' for r in ratios)}; seconds {', '.join(f'{a:.1f}/{b:.1f}' for a, b in rounds)}")
    return met


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--class-rounds", type=int, default=3)
    parser.add_argument("--class-size", type=int, default=8)
    args = parser.parse_args(argv)
    settings = Settings()
    print(f"machine: {os.cpu_count()} cores; protection: {isolation.probe(ROOT)}")
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        work = Path(tmp)
        one = work / "one" / "student.ipynb"
        one.parent.mkdir()
        shutil.copy(SOLUTION, one)
        papermill_run(SOLUTION, work, settings)  # warm the file caches both sides read, once each
        grade([one], work, 1, settings)
        single = []
        for _ in range(args.rounds):
            baseline = papermill_run(SOLUTION, work, settings)
            single.append((grade([one], work, 1, settings), baseline))
        klass = _make().write_class(work / "class", args.class_size)
        pairs, ceilings = [], []
        for _ in range(args.class_rounds):
            before = busy_seconds()
            one_worker = grade(klass, work, 1, settings)
            after = busy_seconds()
            pairs.append((one_worker, grade(klass, work, 2, settings)))
            if before is not None and after is not None:  # two workers need at least that CPU time, on 2 cores
                ceilings.append(min(2.0, one_worker / ((after - before) / min(2, os.cpu_count() or 1))))
    ok = report("grading one submission / plain papermill run", single, ONE_TARGET, higher_is_better=False)
    ok &= report(f"class of {args.class_size}: 1 worker / 2 workers", pairs, CLASS_TARGET, higher_is_better=True)
    if ceilings:
        print(f"ceiling for two workers on this machine: {statistics.median(ceilings):.2f}x (one worker's wall time "
              "over half the CPU time it used: perfect packing of the same work on 2 cores)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
