"""What a student's code may touch while it is graded, and how the grader enforces it.

Every process that runs student-controlled input (the kernel executing the notebook, and the
evaluator running the checks on the answers it exported) starts through the launcher in
`sandbox.py`, with a spec built here:

- **Limits** (always): address space, CPU seconds, file size, processes, open files, no core dumps,
  per process.
- **Environment** (always): the grader's environment minus anything that looks like a secret
  (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*` ...) and minus `LABKIT_*`, then the grading settings
  (offline simulator, fixed and locked seed and time scale, `PYTHONHASHSEED=0`) and a private HOME.
- **A share of the machine** (root, writable cgroups, v1 or v2): one cgroup per execution caps the
  memory, the processes and the CPU of everything the submission starts, together, so a submission
  cannot starve a classmate graded beside it; the working copy is a size-limited tmpfs.
- **Namespaces and a private root** (root and bubblewrap, from the system's packages): no network,
  a PID namespace with its own /proc (it sees only its own processes), IPC and UTS namespaces, a
  read-only view of only what a student receives (the bundle's files, the Python installation, the
  system folders), the writable working copy and a size-limited /tmp; everything in it dies with it.
- **Its own uid** (root, `setpriv` from util-linux): a uid of its own per execution from a locked
  pool, so nothing it starts can signal or read another student's processes, and every process left
  under that uid is killed afterwards.

`probe()` finds out once per process what this machine allows and says why anything is missing; the
result is stored in every grading record, so a grade says what protected it (docs/grading.md,
"Threat model").
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
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import config
from ..errors import LabkitError

LAUNCHER = Path(__file__).with_name("sandbox.py")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_V1 = ("memory", "pids", "cpu")  # the controllers a submission's share is made of
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

    memory_mb: int = 4096        # RLIMIT_AS per process, and the cgroup's memory for all of them together
    cpu_seconds: int = 600       # RLIMIT_CPU over the kernel's life: stops busy loops that ignore interrupts
    file_mb: int = 256           # RLIMIT_FSIZE: largest file it may write
    processes: int = 256         # RLIMIT_NPROC and the cgroup's pids: processes and threads (fork bombs)
    open_files: int = 1024       # RLIMIT_NOFILE
    scratch_mb: int = 256        # size of its private /tmp and /dev/shm
    workdir_mb: int = 512        # size of its working copy (a tmpfs, with the full sandbox)
    cpus: float = 1.0            # the cgroup's CPU quota: cores' worth of CPU time for all its processes

    def rlimits(self) -> dict[str, int]:
        return {"as": self.memory_mb * 2**20, "cpu": self.cpu_seconds, "fsize": self.file_mb * 2**20,
                "nproc": self.processes, "nofile": self.open_files, "core": 0}


@dataclasses.dataclass(frozen=True)
class Protection:
    """What this machine lets the grader enforce (stored in every record)."""

    namespaces: bool     # bubblewrap: private root, no network, own PID namespace
    own_user: bool       # a separate unprivileged uid per execution
    note: str = ""       # why something is not enforced
    cgroups: bool = False  # one memory / pids / CPU share per execution

    def as_dict(self) -> dict[str, Any]:
        return {"no_network": self.namespaces, "private_filesystem": self.namespaces,
                "own_pid_namespace": self.namespaces, "unprivileged_user": self.own_user,
                "share_of_the_machine": self.cgroups, "resource_limits": True, "secrets_removed": True,
                "tool": "bubblewrap" if self.namespaces else None, "note": self.note}


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
        config.ENV_LOCKED: "1",
    })
    return env


# --------------------------------------------------------------------------- specs


def readonly_paths(course_root: Path) -> list[str]:
    """What a sandboxed process may read: the Python installation and the student's course files."""
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), sys.prefix}
    paths.update(str(course_root / name) for name in STUDENT_PATHS if (course_root / name).exists())
    return sorted(paths)


def write_spec(job_dir: Path, *, protection: Protection, uid: int | None, workdir: Path, course_root: Path,
               env: Mapping[str, str], limits: Limits, cgroups: list[str] | None = None) -> Path:
    """The launcher's spec (root-only file, deleted by the launcher once read)."""
    rlimits = limits.rlimits()
    if not protection.own_user:  # RLIMIT_NPROC counts every process of the uid: yours, not just the kernel's
        del rlimits["nproc"]
    spec = {"cwd": str(workdir), "limits": rlimits, "env": dict(env), "cgroups": list(cgroups or []),
            "wrapper": wrapper(protection, uid, workdir, readonly_paths(course_root), limits)}
    fd, name = tempfile.mkstemp(prefix="spec-", suffix=".json", dir=job_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    return Path(name)


def wrapper(protection: Protection, uid: int | None, workdir: Path, readonly: list[str], limits: Limits) -> list[str]:
    """bubblewrap's and setpriv's argv, which the launcher execs in front of the command."""
    argv: list[str] = []
    if protection.namespaces:
        scratch = str(limits.scratch_mb * 2**20)
        argv = [_tool("bwrap"), "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                "--unshare-uts", "--unshare-cgroup-try"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                argv += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                argv += ["--ro-bind", path, path]
        argv += ["--dev", "/dev", "--proc", "/proc",
                 "--perms", "1777", "--size", scratch, "--tmpfs", "/tmp",
                 "--perms", "1777", "--size", scratch, "--tmpfs", "/dev/shm"]
        visible = [path for path in _outermost(readonly) if os.path.exists(path)]
        for parent in _parents(visible + [str(workdir)]):  # bwrap would make them 0700, root's alone
            argv += ["--perms", "0755", "--dir", parent]
        for path in visible:  # after /tmp: a course (and its .venv) under /tmp stays visible
            argv += ["--ro-bind", path, path]
        argv += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir), "--"]
    if uid is not None and protection.own_user:
        argv += [_tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    return argv


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SandboxError(f"{name} is not installed")
    return path


def _parents(paths: list[str]) -> list[str]:
    """The folders above `paths`, outermost first, that are not system folders or `/tmp` itself."""
    parents: list[str] = []
    for path in paths:
        for parent in reversed(Path(path).parents[:-1]):  # without "/"
            name = str(parent)
            if name not in parents and name not in SYSTEM_DIRS and name != "/tmp":
                parents.append(name)
    return parents


def _outermost(paths: list[str]) -> list[str]:
    """Paths not inside another listed path (binding the outer one already brings them)."""
    chosen: list[str] = []
    for path in sorted({os.path.normpath(p) for p in paths}):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def launcher(spec: Path) -> list[str]:
    """The command prefix that enters the sandbox described by `spec`."""
    return [sys.executable, "-I", str(LAUNCHER), str(spec), "--"]


def make_workdir(job_dir: Path, name: str, uid: int | None, protection: Protection | None = None,
                 limits: Limits | None = None) -> Path:
    """A fresh, empty working folder owned by the student's uid, with a private HOME inside; with the
    full sandbox, a tmpfs of `limits.workdir_mb`, so a submission cannot fill the grader's disk."""
    workdir = job_dir / name
    workdir.mkdir(mode=0o700)
    if protection is not None and protection.namespaces and limits is not None:
        owner = f",uid={uid},gid={uid}" if uid is not None else ""
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={limits.workdir_mb}m,mode=0700,nosuid,nodev{owner}",
                        "tmpfs", str(workdir)], check=True, capture_output=True)
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
        return Protection(False, False, "not running as root: no private filesystem, network, process view, "
                                        "user or share of the machine, only per-process limits (run the grader "
                                        "as root, in a container, to enforce them)")
    missing = [tool for tool in ("bwrap", "setpriv") if shutil.which(tool) is None]
    cgroups = bool(_cgroup_parents())
    failures = []
    candidates = [Protection(True, True, cgroups=cgroups), Protection(False, True, cgroups=cgroups)]
    if "bwrap" in missing:
        candidates = candidates[1:]
        failures.append("bubblewrap is not installed (apt-get install bubblewrap)")
    for candidate in candidates:
        problem = _try(candidate, course_root)
        if problem is None:
            notes = failures if not candidate.namespaces else []
            if not candidate.namespaces and not failures:
                notes = ["namespaces unavailable"]
            if not cgroups:
                notes.append("cgroups not writable here: memory, processes and CPU are limited per process only")
            note = "; ".join(notes + (["network, files and processes not isolated"] if not candidate.namespaces else []))
            return dataclasses.replace(candidate, note=note)
        failures.append(problem)
    return Protection(False, False, f"cannot isolate student code here ({'; '.join(failures)})")


def _try(protection: Protection, course_root: Path) -> str | None:
    job_dir = make_job_dir("lkg-probe-")
    try:
        with own_uid(protection) as uid, share(protection, Limits(), job_dir.name) as cgroups:
            workdir = make_workdir(job_dir, "w", uid, protection, Limits())
            env = student_environment({"PATH": "/usr/bin:/bin"}, home=workdir / "home", seed=0, time_scale=0)
            spec = write_spec(job_dir, protection=protection, uid=uid, workdir=workdir,
                              course_root=course_root, env=env, limits=Limits(), cgroups=cgroups)
            check = "import os, socket; print(os.getuid()); socket.socket().close()"
            result = subprocess.run(launcher(spec) + [sys.executable, "-I", "-c", check], capture_output=True,
                                    text=True, timeout=60)
            if result.returncode != 0:
                return (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            return None
    except (OSError, subprocess.SubprocessError, SandboxError) as exc:
        return str(exc)
    finally:
        remove_job_dir(job_dir)


def remove_job_dir(job_dir: Path) -> None:
    """Unmount the working copies under `job_dir`, then delete it."""
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        inside = [line.split()[1] for line in mounts if line.split()[1].startswith(str(job_dir) + "/")]
    for mountpoint in sorted(inside, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], capture_output=True)
    shutil.rmtree(job_dir, ignore_errors=True)


# --------------------------------------------------------------------------- cgroups


def _cgroup_parents() -> list[Path]:
    """Where this process may create child cgroups for the memory, pids and CPU controllers: one
    folder on cgroup v2 (if its parent delegates them), one per controller on v1; [] if neither."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    entries = [line.split(":", 2) for line in lines if line.count(":") >= 2]
    v2 = next((path for hid, controllers, path in entries if hid == "0" and not controllers), None)
    if v2 is not None:
        for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
            base = mount / v2.lstrip("/")
            controllers = (mount / "cgroup.controllers")
            if controllers.exists() and set(CGROUP_V1) <= set(controllers.read_text().split()):
                return [base]
    parents = []
    for hid, controllers, path in entries:
        for name in CGROUP_V1:
            if name in controllers.split(","):
                mount = next((m for m in (CGROUP_ROOT / name, CGROUP_ROOT / controllers) if m.is_dir()), None)
                if mount is not None:
                    parents.append(mount / path.lstrip("/"))
    return parents if len(parents) == len(CGROUP_V1) else []


@contextlib.contextmanager
def share(protection: Protection, limits: Limits, name: str) -> Iterator[list[str]]:
    """One execution's cgroups (its share of the machine), created with `limits`; on exit every
    process still in them is killed and they are removed. Yields [] without cgroups."""
    made: list[Path] = []
    try:
        if protection.cgroups:
            for parent in _cgroup_parents():
                folder = parent / f"labkit-{name}"
                folder.mkdir()
                made.append(folder)
                _limit(folder, limits)
        yield [str(folder) for folder in made]
    finally:
        for folder in made:
            _empty_and_remove(folder)


def _limit(folder: Path, limits: Limits) -> None:
    memory, period = limits.memory_mb * 2**20, 100_000
    values = {"memory.max": str(memory), "pids.max": str(limits.processes),
              "cpu.max": f"{int(limits.cpus * period)} {period}",
              "memory.limit_in_bytes": str(memory), "cpu.cfs_period_us": str(period),
              "cpu.cfs_quota_us": str(int(limits.cpus * period))}
    for file, value in values.items():
        if (folder / file).exists():
            (folder / file).write_text(value)


def _empty_and_remove(folder: Path) -> None:
    for _ in range(50):
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            folder.rmdir()
            return
        time.sleep(0.02)


def make_job_dir(prefix: str = "lkg-") -> Path:
    """A root-owned folder for one execution: others may pass through (to their working copy), not list it."""
    job_dir = Path(tempfile.mkdtemp(prefix=prefix))
    job_dir.chmod(0o711)
    return job_dir
