"""What a student's code may touch while it is graded, and how the grader enforces it.

Every process that runs student-controlled input (the kernel executing the notebook, and the
evaluator re-running the public checks on the answers it exported) starts through the launcher in
`sandbox.py`, with a spec built here:

- **Limits** (always): address space, CPU seconds, file size, processes, open files, no core dumps.
- **Environment** (always): the grader's environment minus anything that looks like a secret
  (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*` ...) and minus `LABKIT_*`, then the grading settings
  (offline simulator, fixed seed and time scale, `PYTHONHASHSEED=0`) and a private HOME.
- **Namespaces, private root, own uid** (when the grader runs as root and the kernel allows it):
  no network, a read-only view of only what a student receives (the bundle's files, the Python
  installation, the system folders), a writable working copy and private /tmp; each execution gets
  a uid of its own from a locked pool, and every process left under that uid is killed afterwards.

`probe()` finds out once per process what this machine allows and says why anything is missing; the
result is stored in every grading record, so a grade says what protected it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import config
from ..errors import LabkitError

LAUNCHER = Path(__file__).with_name("sandbox.py")
SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|COOKIE|AUTH", re.IGNORECASE)
DROPPED_PREFIXES = ("LABKIT_", "JPY_", "JUPYTER_", "IPYTHON", "PYTHON", "MPL", "VIRTUAL_ENV")
# The course files a student receives (see labkit.grading.bundle): all a kernel may read of the course.
STUDENT_PATHS = ("README.md", "LICENSE", "pyproject.toml", "environment.yml", "bootstrap.py",
                 "notebooks", "labs", "src", "data", "docs")
UID_BASE, UID_COUNT = 62000, 1000  # uids with no account, one per concurrent execution
LOCK_DIR = Path(tempfile.gettempdir()) / "labkit-grading-uids"


class SandboxError(LabkitError):
    """The grader could not set up an execution (not the student's fault: grade again later)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of each student process (memory and CPU are per process, not per class)."""

    memory_mb: int = 4096        # RLIMIT_AS: a Python kernel with the SDK loaded maps ~0.9 GB
    cpu_seconds: int = 600       # RLIMIT_CPU over the kernel's life: stops busy loops that ignore interrupts
    file_mb: int = 256           # RLIMIT_FSIZE: largest file it may write
    processes: int = 256         # RLIMIT_NPROC: processes and threads of its own uid (fork bombs)
    open_files: int = 1024       # RLIMIT_NOFILE
    scratch_mb: int = 256        # size of its private /tmp and /dev/shm

    def rlimits(self) -> dict[str, int]:
        return {"as": self.memory_mb * 2**20, "cpu": self.cpu_seconds, "fsize": self.file_mb * 2**20,
                "nproc": self.processes, "nofile": self.open_files, "core": 0}


@dataclasses.dataclass(frozen=True)
class Protection:
    """What this machine lets the grader enforce (stored in every record)."""

    namespaces: bool  # private root, no network
    own_user: bool    # a separate unprivileged uid per execution
    note: str = ""    # why something is not enforced

    def as_dict(self) -> dict[str, Any]:
        return {"no_network": self.namespaces, "private_filesystem": self.namespaces,
                "unprivileged_user": self.own_user, "resource_limits": True, "secrets_removed": True,
                "note": self.note}


# --------------------------------------------------------------------------- environment


def student_environment(base: Mapping[str, str], *, home: Path, seed: int, time_scale: float) -> dict[str, str]:
    """The environment a student process gets: no secrets, no inherited labkit settings, private HOME."""
    env = {name: value for name, value in base.items()
           if not SECRET.search(name) and not name.startswith(DROPPED_PREFIXES)}
    env.update({
        "HOME": str(home), "USER": "student", "LOGNAME": "student", "TMPDIR": "/tmp",
        "IPYTHONDIR": str(home / ".ipython"), "MPLCONFIGDIR": str(home / ".config" / "matplotlib"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_CONFIG_HOME": str(home / ".config"),
        "JUPYTER_RUNTIME_DIR": str(home / ".runtime"), "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg",
        config.ENV_BACKEND: "sim", config.ENV_SEED: str(seed), config.ENV_TIME_SCALE: repr(time_scale),
    })
    return env


# --------------------------------------------------------------------------- specs


def readonly_paths(course_root: Path) -> list[str]:
    """What a sandboxed process may read: the Python installation and the student's course files."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    paths.update(str(course_root / name) for name in STUDENT_PATHS if (course_root / name).exists())
    return sorted(paths)


def write_spec(job_dir: Path, *, protection: Protection, uid: int | None, workdir: Path, course_root: Path,
               env: Mapping[str, str], limits: Limits) -> Path:
    """The launcher's spec (root-only file, deleted by the launcher once read)."""
    root = job_dir / f"root-{workdir.name}"
    root.mkdir(exist_ok=True)
    rlimits = limits.rlimits()
    if not protection.own_user:  # RLIMIT_NPROC counts every process of the uid: yours, not just the kernel's
        del rlimits["nproc"]
    spec = {
        "namespaces": protection.namespaces, "root": str(root), "cwd": str(workdir),
        "uid": uid if protection.own_user else None, "gid": uid if protection.own_user else None,
        "readonly": readonly_paths(course_root), "writable": [str(workdir)],
        "limits": rlimits, "scratch_bytes": limits.scratch_mb * 2**20, "env": dict(env),
    }
    fd, name = tempfile.mkstemp(prefix="spec-", suffix=".json", dir=job_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    return Path(name)


def launcher(spec: Path) -> list[str]:
    """The command prefix that enters the sandbox described by `spec`."""
    return [sys.executable, "-I", str(LAUNCHER), str(spec), "--"]


def make_workdir(job_dir: Path, name: str, uid: int | None) -> Path:
    """A fresh, empty working folder owned by the student's uid, with a private HOME inside."""
    workdir = job_dir / name
    workdir.mkdir(mode=0o700)
    (workdir / "home").mkdir(mode=0o700)
    if uid is not None:
        for path in (workdir, workdir / "home"):
            os.chown(path, uid, uid)
    return workdir


# --------------------------------------------------------------------------- uids


@contextlib.contextmanager
def own_uid(protection: Protection) -> Iterator[int | None]:
    """A uid no other execution holds (a file lock per uid), its leftover processes killed before and after."""
    if not protection.own_user:
        yield None
        return
    import fcntl  # POSIX only, like the rest of the sandbox

    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        handle = open(LOCK_DIR / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        try:
            kill_user(uid)
            yield uid
        finally:
            kill_user(uid)
            handle.close()
        return
    raise SandboxError(f"all {UID_COUNT} grading uids from {UID_BASE} are in use")


def kill_user(uid: int) -> None:
    """Kill every process running as `uid` (whatever it forked, detached or renamed)."""
    code = "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass\n"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([sys.executable, "-I", "-S", "-c", code], user=uid, group=uid, extra_groups=[],
                       timeout=30, capture_output=True, cwd="/")


def kill_group(pid: int) -> None:
    """Kill a process and its process group (the grader's watchdog)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- probing


@functools.cache
def probe(course_root: Path, allow: bool = True) -> Protection:
    """What this machine allows, found by starting a trivial sandboxed process (once per process)."""
    if not allow:
        return Protection(False, False, "sandbox turned off (--no-sandbox): student code ran as the grader's user")
    if os.name != "posix" or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return Protection(False, False, "not running as root: no private filesystem, network or user "
                                        "(run the grader as root in a container to enforce them)")
    failures = []
    for candidate in (Protection(True, True), Protection(False, True)):
        problem = _try(candidate, course_root)
        if problem is None:
            note = "" if candidate.namespaces else f"namespaces unavailable ({failures[0]}): network not isolated"
            return dataclasses.replace(candidate, note=note)
        failures.append(problem)
    return Protection(False, False, f"cannot isolate student code here ({'; '.join(failures)})")


def _try(protection: Protection, course_root: Path) -> str | None:
    job_dir = make_job_dir("lkg-probe-")
    try:
        with own_uid(protection) as uid:
            workdir = make_workdir(job_dir, "w", uid)
            env = student_environment({"PATH": "/usr/bin:/bin"}, home=workdir / "home", seed=0, time_scale=0)
            spec = write_spec(job_dir, protection=protection, uid=uid, workdir=workdir,
                              course_root=course_root, env=env, limits=Limits())
            check = "import os, socket; print(os.getuid()); socket.socket().close()"
            result = subprocess.run(launcher(spec) + [sys.executable, "-I", "-c", check], capture_output=True,
                                    text=True, timeout=60)
            if result.returncode != 0:
                return (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            return None
    except (OSError, subprocess.SubprocessError, SandboxError) as exc:
        return str(exc)
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def make_job_dir(prefix: str = "lkg-") -> Path:
    """A root-owned folder for one execution: others may pass through (to their working copy), not list it."""
    job_dir = Path(tempfile.mkdtemp(prefix=prefix))
    job_dir.chmod(0o711)
    return job_dir
