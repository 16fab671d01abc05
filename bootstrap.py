#!/usr/bin/env python3
"""The README's two commands: set up the project's own virtual environment, then run something in it.

    python3 bootstrap.py run  [labkit run options]   # run the whole course headlessly, print the scorecard
    python3 bootstrap.py test [pytest options]       # run the full test suite
    python3 bootstrap.py bench                       # run every benchmark in benchmarks/ (not pass/fail)

Needs only Python 3.11+. The environment lives in `.venv/` and is created on first use and
refreshed whenever `pyproject.toml` changes (its hash is kept in `.venv/.labkit-installed`). `test`
also installs the real clients the suite drives against `labkit serve` (the Claude Code CLI and the
official JS SDK, pinned in `tests/clients/`) into `.labkit/clients/` when npm is present, and, as
root on Debian, the system tools the grader's full sandbox uses (bubblewrap, util-linux's setpriv);
without them those tests skip and say why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".labkit-installed"
CLIENT_SPEC = ROOT / "tests" / "clients"
CLIENTS = ROOT / ".labkit" / "clients"
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


def ensure_real_clients() -> None:
    """Install the pinned npm clients into `.labkit/clients/` (again only when the pins change).

    A failure is reported, not fatal: the tests that need a client skip with the reason."""
    npm = shutil.which("npm")
    if npm is None:
        print("bootstrap: npm not found: the real-client tests (Claude Code CLI, JS SDK) will be skipped",
              flush=True)
        return
    files = ("package.json", "package-lock.json")
    wanted = hashlib.sha256(b"".join((CLIENT_SPEC / name).read_bytes() for name in files)).hexdigest()
    stamp = CLIENTS / ".labkit-installed"
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    print("bootstrap: installing the real clients from the npm registry into .labkit/clients/", flush=True)
    CLIENTS.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copyfile(CLIENT_SPEC / name, CLIENTS / name)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel", "error"], cwd=CLIENTS)
    if done.returncode == 0:
        stamp.write_text(wanted + "\n")
    else:
        print("bootstrap: npm could not install the real clients: their tests will be skipped", flush=True)


SYSTEM_TOOLS = {"bwrap": "bubblewrap", "setpriv": "util-linux"}  # command: Debian package


def ensure_system_tools() -> None:
    """As root with apt-get, install the grader's sandbox tools that are missing (once: later runs
    find them). Otherwise say what is missing: the sandbox tests skip with the reason."""
    missing = sorted({package for tool, package in SYSTEM_TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print(f"bootstrap: {', '.join(missing)} not installed (needs root and apt-get): the full grading "
              "sandbox tests will be skipped", flush=True)
        return
    print(f"bootstrap: installing {', '.join(missing)} from Debian's packages for the grading sandbox", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt_get(*args: str) -> int:
        return subprocess.run([apt, *args], stdout=subprocess.DEVNULL, env=env).returncode

    install = ("install", "-y", "--no-install-recommends", *missing)
    if apt_get(*install) != 0 and (apt_get("update") != 0 or apt_get(*install) != 0):  # lists may be missing
        print("bootstrap: apt-get could not install them: the full grading sandbox tests will be skipped", flush=True)


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
    ensure_system_tools()
    ensure_real_clients()
    return subprocess.run([str(PYTHON), "-m", "pytest", *TEST_ARGS, *rest], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
