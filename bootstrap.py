#!/usr/bin/env python3
"""The README's two commands: set up the project's own virtual environment, then run something in it.

    python3 bootstrap.py run  [labkit run options]   # run the whole course headlessly, print the scorecard
    python3 bootstrap.py test [pytest options]       # run the full test suite
    python3 bootstrap.py bench                       # run every benchmark in benchmarks/ (not pass/fail)

Needs only Python 3.11+. The environment lives in `.venv/` and is created on first use and
refreshed whenever `pyproject.toml` changes (its hash is kept in `.venv/.labkit-installed`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".labkit-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
TEST_ARGS = [
    "-n", "2", "--dist", "loadscope",
    "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/sanitize.cfg",
    "tests", "notebooks", "solutions",
]
USAGE = "usage: python3 bootstrap.py {run|test|bench} [options passed on to `labkit run` or pytest]"


def ensure_environment() -> None:
    """Create `.venv` if needed and (re)install labkit with its test extras when pyproject changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"labkit needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PYTHON.exists():
        print(f"bootstrap: creating the virtual environment in {VENV.name}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("bootstrap: installing labkit and its dependencies (first run takes a few minutes)", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test,bench]"], check=True)
    STAMP.write_text(wanted + "\n")


def run_benchmarks(env: dict[str, str]) -> int:
    """Each benchmark script in turn: every one reports ratios against anchors measured in its own run."""
    failed = 0
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        print(f"\n## {script.stem}\n", flush=True)
        failed += subprocess.run([str(PYTHON), str(script)], cwd=ROOT, env=env).returncode != 0
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "bench"):
        print(USAGE, file=sys.stderr)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    if command == "run":
        return subprocess.run([str(PYTHON), "-m", "labkit.cli", "run", *rest], cwd=ROOT, env=env).returncode
    if command == "bench":
        return run_benchmarks(env)
    return subprocess.run([str(PYTHON), "-m", "pytest", *TEST_ARGS, *rest], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
