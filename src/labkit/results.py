"""The results recorder: every success criterion a notebook measures goes through `record()`.

A record is shown in the notebook as one readable line and also travels inside the executed
notebook as a display output of type `RECORD_MIME`, so the course runner, the scorecard, the grader
and the guide's claims table all read the same figures straight from the notebook, with no side files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

RECORD_MIME = "application/vnd.labkit.record+json"
OPERATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}


@dataclasses.dataclass(frozen=True)
class Record:
    """A measured value against its target, e.g. a 34% load-time reduction against ≥ 20%."""

    name: str
    value: float
    op: str
    target: float
    unit: str = ""
    volatile: bool = False

    @property
    def passed(self) -> bool:
        return {">=": self.value >= self.target, "<=": self.value <= self.target,
                ">": self.value > self.target, "<": self.value < self.target}[self.op]

    def line(self) -> str:
        mark = "✔" if self.passed else "✘"
        value = format_value(self.value, self.unit, volatile=self.volatile)
        target = format_value(self.target, self.unit)
        verdict = "met" if self.passed else "NOT met"
        return f"{mark} {self.name}: {value} (target {OPERATORS[self.op]} {target}) — {verdict}"

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed}

    def __str__(self) -> str:
        return self.line()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.line(), RECORD_MIME: self.as_dict()}


def format_value(value: float, unit: str = "", *, volatile: bool = False) -> str:
    """Human form of a value in its unit: `34.1%`, `1.23 s`, `2.50x`, `$0.0012`, `1,234 tokens`."""
    if unit == "%":
        text = f"{value * 100:.1f}%"
    elif unit == "x":
        text = f"{value:.2f}x"
    elif unit == "$":
        text = f"${value:.4f}"
    elif unit == "s":
        text = f"{value:.2f} s"
    elif unit and value == int(value) and abs(value) >= 1:
        text = f"{int(value):,} {unit}"
    elif unit:
        text = f"{value:.3g} {unit}"
    else:
        text = f"{value:.3g}"
    return f"~{text}" if volatile else text


def record(name: str, value: float, *, at_least: float | None = None, at_most: float | None = None,
           unit: str = "", volatile: bool = False) -> None:
    """Record a measured success criterion and show it: `record("speed-up", 0.35, at_least=0.30, unit="%")`.

    `volatile=True` marks a value that changes between runs (anything derived from wall time): it is
    printed with a leading `~`. Give exactly one of `at_least` / `at_most`.
    """
    if (at_least is None) == (at_most is None):
        raise ValueError("record() needs exactly one target: at_least=... or at_most=...")
    op, target = (">=", at_least) if at_least is not None else ("<=", at_most)
    show(Record(name=name, value=float(value), op=op, target=float(target), unit=unit, volatile=volatile))


def show(obj: Any) -> None:
    """Display a rich object in a notebook; print its text elsewhere."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is not None:
        display(obj)
    else:
        print(obj)


def read_records(notebook: Path | Mapping[str, Any]) -> list[Record]:
    """The records an executed notebook carries, in order."""
    return [Record(**{k: v for k, v in data.items() if k != "passed"})
            for data in outputs_of_type(notebook, RECORD_MIME)]


def outputs_of_type(notebook: Path | Mapping[str, Any], mime: str) -> Iterable[dict[str, Any]]:
    """Every display payload of MIME type `mime` in a notebook (a path or a loaded nbformat dict)."""
    nb = json.loads(Path(notebook).read_text()) if isinstance(notebook, (str, Path)) else notebook
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            payload = output.get("data", {}).get(mime)
            if payload is not None:
                yield payload
