"""Enter a submission's share of the machine, then exec a command: the launcher every student process
starts through.

    python -I sandbox.py SPEC.json -- COMMAND [ARG ...]

Run as a script (standard library only, so it starts in milliseconds and imports nothing a student
could have touched). It reads a JSON spec written by the grader (`labkit.grading.isolation`), deletes
it, and then:

1. joins the submission's **cgroups** (memory, process count and CPU quota for everything it starts,
   together), when the spec names them;
2. sets the per-process **resource limits** (address space, CPU seconds, file size, processes, open
   files, no core dumps);
3. `exec`s the spec's argv with exactly the spec's environment: with the full sandbox that argv is
   **bubblewrap** (namespaces: no network, a PID namespace with its own /proc, a private read-only
   view of only the files a student receives, a size-limited /tmp) and, inside it, `setpriv`
   dropping to the execution's own unprivileged uid, then the command.

The namespaces, mounts and the change of user are bubblewrap's and setpriv's, audited tools from the
system's packages; this file only does what must happen before them.
"""

from __future__ import annotations

import json
import os
import resource
import sys

LIMITS = {"as": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU, "fsize": resource.RLIMIT_FSIZE,
          "nproc": resource.RLIMIT_NPROC, "nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}
EXIT_SETUP = 120  # the launcher itself failed: the grader reports "could not enter the sandbox"


def join_cgroups(paths: list[str]) -> None:
    """Move this process (and so everything it execs and starts) into each cgroup folder."""
    for path in paths:
        with open(os.path.join(path, "cgroup.procs"), "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))


def set_limits(limits: dict) -> None:
    for name, value in limits.items():
        if value is not None:
            resource.setrlimit(LIMITS[name], (int(value), int(value) + (5 if name == "cpu" else 0)))


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
        join_cgroups(spec.get("cgroups", []))
        set_limits(spec.get("limits", {}))
        if spec.get("cwd"):
            os.chdir(spec["cwd"])
        argv = [*spec.get("wrapper", []), *command]
    except (OSError, ValueError, KeyError) as exc:
        print(f"labkit sandbox: {exc}", file=sys.stderr)
        return EXIT_SETUP
    os.execve(argv[0], argv, spec.get("env", {}))
    return EXIT_SETUP  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
