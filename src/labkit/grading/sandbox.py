"""Enter the grading sandbox, then exec a command: the launcher every student kernel starts through.

    python -I sandbox.py SPEC.json -- python -m ipykernel_launcher -f kernel.json

Run as a script (standard library only, so it starts in milliseconds and imports nothing a student
could have touched). It reads a JSON spec written by the grader (`labkit.grading.isolation`) and,
as far as the spec asks and the system allows:

1. **namespaces** (root only): a private mount, network, IPC and UTS namespace. The new network
   namespace has only a loopback interface that is down: no network at all, not even localhost.
2. **a private root**: a fresh tmpfs with read-only bind mounts of the system folders, the Python
   installation and the course files a student receives (never `instructor/` or `solutions/`), the
   submission's writable working copy, and private `/tmp` and `/dev/shm`; then `chroot` into it.
3. **resource limits**: address space, CPU seconds, file size, processes, open files, no core dumps.
4. **an unprivileged user**: a uid of its own per execution, so nothing it starts can signal,
   read or outlive another student's kernel, and every process it leaves is killed by uid.

Then it `exec`s the command with exactly the spec's environment. Without root, only the limits
apply (the grader records what was enforced). The spec file is read and deleted before anything else.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
LIMITS = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "fsize": resource.RLIMIT_FSIZE,
          "nproc": resource.RLIMIT_NPROC, "nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}
EXIT_SETUP = 120  # the launcher itself failed: the grader reports "could not enter the sandbox"


class SetupError(Exception):
    pass


_libc = ctypes.CDLL(None, use_errno=True)


def _call(name: str, *args: object) -> None:
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise SetupError(f"{name}{tuple(a.decode() if isinstance(a, bytes) else a for a in args)}: "
                         f"{os.strerror(errno)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _call("mount", enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))


def bind(source: str, target: str, *, writable: bool = False) -> None:
    """Bind `source` at `target` (created as a file or folder to match), read-only unless `writable`."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    if not writable:
        mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def private_root(spec: dict) -> str:
    """Build the private root tmpfs and return its path (chroot into it afterwards)."""
    root = spec["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here propagates to the host
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            bind(path, root + path)
    scratch = spec.get("scratch_bytes", 256 * 2**20)
    for folder in ("/tmp", "/dev/shm"):
        os.makedirs(root + folder, exist_ok=True)
        mount("tmpfs", root + folder, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={scratch}")
    # After the private /tmp: a course (and its .venv) cloned under /tmp stays visible, read-only.
    for path in _outermost(spec.get("readonly", [])):
        if os.path.exists(path):
            bind(path, root + path)
    os.makedirs(root + "/dev", exist_ok=True)
    for name in DEVICES:
        bind("/dev/" + name, f"{root}/dev/{name}", writable=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(root + "/proc", exist_ok=True)
    mount("/proc", root + "/proc", None, MS_BIND | MS_REC)
    for path in spec.get("writable", []):  # after /tmp: the working copy usually lives under it
        bind(path, root + path, writable=True)
    return root


def _outermost(paths: list[str]) -> list[str]:
    """Paths not inside another listed path (binding the outer one already brings them)."""
    chosen: list[str] = []
    for path in sorted({os.path.normpath(p) for p in paths}):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def set_limits(limits: dict) -> None:
    for name, value in limits.items():
        if value is not None:
            resource.setrlimit(LIMITS[name], (int(value), int(value) + (5 if name == "cpu" else 0)))


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise SetupError("could not drop privileges")


def enter(spec: dict) -> None:
    """Everything but the exec: namespaces, private root, limits, user, working folder."""
    if spec.get("namespaces"):
        _call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
        os.chroot(private_root(spec))
    os.chdir(spec["cwd"])
    os.umask(0o077)
    set_limits(spec.get("limits", {}))
    if spec.get("uid") is not None:
        drop_privileges(spec["uid"], spec["gid"])


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: sandbox.py SPEC.json -- COMMAND [ARG ...]", file=sys.stderr)
        return EXIT_SETUP
    spec_path, command = argv[0], argv[2:]
    try:
        with open(spec_path, encoding="utf-8") as handle:
            text = handle.read()
        os.unlink(spec_path)
        spec = json.loads(text)
        enter(spec)
    except (OSError, SetupError, ValueError, KeyError) as exc:
        print(f"labkit sandbox: {exc}", file=sys.stderr)
        return EXIT_SETUP
    os.execve(command[0], command, spec.get("env", {}))
    return EXIT_SETUP  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
