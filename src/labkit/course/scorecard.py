"""The scorecard of a `labkit run`: per notebook, did it run, how long, and did it meet its criteria.

Everything measured is read back from the executed notebooks themselves (`labkit.results` records
and `labkit.checks` outputs), so the scorecard shows exactly what the notebook showed. It is printed
as plain text that fits a 100-column terminal and saved as `scorecard.json` for machines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import CHECK_MIME
from ..results import KINDS, Record, outputs_of_type, read_records

if TYPE_CHECKING:  # runner imports this module; the types are only needed for checking
    from .runner import Outcome

WIDTH = 100
INDENT = "    "
COLUMNS = (("status", 7), ("time", 9), ("criteria", 9), ("checks", 6))  # after the notebook column


@dataclasses.dataclass(frozen=True)
class Entry:
    """One notebook's outcome plus what its executed copy recorded."""

    outcome: Outcome
    records: list[Record]
    checks: list[dict[str, Any]]

    @property
    def criteria_met(self) -> int:
        return sum(record.passed for record in self.records)

    @property
    def checks_passed(self) -> int:
        return sum(bool(check.get("passed")) for check in self.checks)


@dataclasses.dataclass(frozen=True)
class Scorecard:
    entries: list[Entry]
    settings: str = ""  # Config.describe(): safe to print, never holds the key
    out: Path | None = None  # where the executed notebooks were written

    @property
    def ran(self) -> int:
        """Notebooks that ran to the end without an error (their criteria and checks say the rest)."""
        return sum(entry.outcome.ok for entry in self.entries)

    def summary(self) -> str:
        met = sum(entry.criteria_met for entry in self.entries)
        total = sum(len(entry.records) for entry in self.entries)
        n = len(self.entries)
        return (f"{n} notebook{'s' if n != 1 else ''}: {self.ran} ran, {n - self.ran} failed; "
                f"criteria met: {met}/{total}")

    def text(self, relative_to: Path | None = None) -> str:
        """The table, a detail block under each notebook, the legend, then the summary line."""
        name_width = _name_width(self.entries)
        lines = textwrap.wrap(f"Scorecard: {self.settings}" if self.settings else "Scorecard", WIDTH,
                              subsequent_indent="  ", break_on_hyphens=False) + [""]
        lines.append(_row("notebook", [title for title, _ in COLUMNS], name_width))
        lines.append(_row("-" * name_width, ["-" * width for _, width in COLUMNS], name_width))
        for entry in self.entries:
            lines.append(_row(entry.outcome.name, _cells(entry), name_width))
            lines.extend(_details(entry, relative_to))
        lines += ["", *self.legend(relative_to), "", self.summary()]
        return "\n".join(lines)

    def legend(self, relative_to: Path | None = None) -> list[str]:
        """What the labels and marks mean, and where the executed notebooks are."""
        kinds = sorted({record.kind for entry in self.entries for record in entry.records}, key=list(KINDS).index)
        lines = ["Where each figure comes from:"]
        for kind in kinds:
            lines += textwrap.wrap(f"[{kind}] {KINDS[kind]}", WIDTH, initial_indent=INDENT,
                                   subsequent_indent=INDENT + "  ")
        lines += textwrap.wrap("~ marks a value that varies from run to run (local or live); an unmarked "
                               "value is the same on every run and every machine. `time` is this "
                               "machine's wall time for the whole notebook.", WIDTH,
                               initial_indent=INDENT, subsequent_indent=INDENT)
        if self.out is not None:
            lines.append(f"Executed notebooks (with every output) are in {_show_path(self.out, relative_to)}/")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "out": str(self.out) if self.out is not None else None,
            "kinds": KINDS,
            "notebooks": [_entry_dict(entry) for entry in self.entries],
            "summary": {
                "notebooks": len(self.entries), "ran": self.ran,
                "failed": len(self.entries) - self.ran,
                "criteria_met": sum(entry.criteria_met for entry in self.entries),
                "criteria": sum(len(entry.records) for entry in self.entries),
            },
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n")


def build(outcomes: Sequence[Outcome], settings: str = "", out: Path | None = None) -> Scorecard:
    """Read each executed notebook's records and checks (a missing or broken output reads as none)."""
    return Scorecard([_entry(outcome) for outcome in outcomes], settings, out)


def _entry(outcome: Outcome) -> Entry:
    records: list[Record] = []
    checks: list[dict[str, Any]] = []
    if outcome.output is not None:
        with contextlib.suppress(Exception):  # a truncated notebook must not hide the other rows
            records = read_records(outcome.output)
            checks = list(outputs_of_type(outcome.output, CHECK_MIME))
    return Entry(outcome, records, checks)


def _cells(entry: Entry) -> list[str]:
    criteria = f"{entry.criteria_met}/{len(entry.records)} met" if entry.records else "-"
    checks = f"{entry.checks_passed}/{len(entry.checks)}" if entry.checks else "-"
    return [entry.outcome.status, f"~{entry.outcome.seconds:.1f} s", criteria, checks]


def _details(entry: Entry, relative_to: Path | None) -> list[str]:
    lines = [INDENT + record.line() for record in entry.records]
    outcome = entry.outcome
    if not outcome.ok:
        if outcome.error is not None:
            lines += textwrap.wrap("✘ " + outcome.error.line(), WIDTH, initial_indent=INDENT,
                                   subsequent_indent=INDENT + "  ")
        if outcome.output is not None:
            lines.append(f"{INDENT}  output: {_show_path(outcome.output, relative_to)}")
        if outcome.log is not None:
            lines.append(f"{INDENT}  kernel log: {_show_path(outcome.log, relative_to)}")
    return lines


def _name_width(entries: Sequence[Entry]) -> int:
    room = WIDTH - sum(width + 2 for _, width in COLUMNS)
    longest = max((len(entry.outcome.name) for entry in entries), default=0)
    return max(len("notebook"), min(longest, room))


def _row(name: str, cells: Sequence[str], name_width: int) -> str:
    if len(name) > name_width:  # keep the file name, drop the front of the folder path
        name = "…" + name[len(name) - name_width + 1:]
    parts = [name.ljust(name_width)] + [cell.ljust(width) for cell, (_, width) in zip(cells, COLUMNS)]
    return "  ".join(parts).rstrip()


def _show_path(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        with contextlib.suppress(ValueError):
            return path.resolve().relative_to(relative_to.resolve()).as_posix()
    return str(path)


def _entry_dict(entry: Entry) -> dict[str, Any]:
    outcome = entry.outcome
    return {
        "notebook": outcome.name,
        "source": str(outcome.source),
        "output": str(outcome.output) if outcome.output is not None else None,
        "status": outcome.status,
        "seconds": round(outcome.seconds, 2),
        "error": dataclasses.asdict(outcome.error) if outcome.error is not None else None,
        "log": str(outcome.log) if outcome.log is not None else None,
        "records": [record.as_dict() for record in entry.records],
        "checks": {
            "passed": entry.checks_passed, "total": len(entry.checks),
            "results": [{"question": c.get("question"), "passed": bool(c.get("passed"))} for c in entry.checks],
        },
    }
