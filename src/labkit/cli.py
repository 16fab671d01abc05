"""`labkit` on the command line: one sub-command per job, each implemented in its own module.

Only the chosen command's module is imported, so a command starts quickly and a problem in one
module never disables the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import LabkitError

# name -> (module that implements it, one-line help). Each module provides
# `add_arguments(parser)` and `main(args) -> int`.
COMMANDS = {
    "run": ("labkit.course.runner", "execute the course's notebooks headlessly and print a scorecard"),
    "record": ("labkit.course.recording", "re-execute lessons and solutions, storing their outputs in place"),
    "build-labs": ("labkit.course.labs", "generate labs/ from solutions/ (stubs instead of solutions)"),
    "serve": ("labkit.serve", "serve the offline simulated Claude API over HTTP on localhost"),
    "grade": ("labkit.grading.cli", "grade lab submissions in fresh sandboxed kernels: records, feedback, gradebook"),
    "bundle": ("labkit.grading.bundle", "build the student bundle (no solutions, no hidden checks), verified"),
    "hook": ("labkit.hooks", "Claude Code hook: log how full the context window is, from one JSON event on stdin"),
}


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with full arguments for the command named in `argv` (the others: help only)."""
    chosen = next((word for word in argv if word in COMMANDS), None)
    parser = argparse.ArgumentParser(prog="labkit", description="The Agent Performance Lab's tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        if name == chosen:
            importlib.import_module(module).add_arguments(command)
        command.set_defaults(module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return importlib.import_module(args.module).main(args)
    except LabkitError as exc:
        print(f"labkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
