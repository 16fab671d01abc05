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

from . import config
from .errors import UsageError

RECORD_MIME = "application/vnd.labkit.record+json"
OPERATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}

# Where a recorded figure comes from: every record says which (see `Record.kind`).
KINDS = {
    "exact": "computed from your code and data (tokens, bytes, calls, hit rates): the same on any machine",
    "modelled": "decided by the simulator's model of the service (latency, queueing, answer quality; "
                "figures and sources in data/models.yaml): run live to measure the real service",
    "local": "a wall-clock figure of this machine (file loading, a cache hit): varies from run to run",
    "live": "measured against the real API: varies from run to run",
}


@dataclasses.dataclass(frozen=True)
class Record:
    """A measured value against its target, e.g. a 34% load-time reduction against ≥ 20%.

    `kind` says where the figure comes from (one of `KINDS`); `controls` says, in one sentence,
    what the learner's code decides in it. Local and live figures vary between runs: they are
    printed with a leading `~`, which the test suite's sanitiser relies on.
    """

    name: str
    value: float
    op: str
    target: float
    unit: str = ""
    kind: str = "exact"
    controls: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"a record's kind is one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.op not in OPERATORS:
            raise UsageError(f"a record's op is one of {', '.join(OPERATORS)}, not {self.op!r}")

    @property
    def volatile(self) -> bool:
        return self.kind in ("local", "live")

    @property
    def passed(self) -> bool:
        return {">=": self.value >= self.target, "<=": self.value <= self.target,
                ">": self.value > self.target, "<": self.value < self.target}[self.op]

    def line(self) -> str:
        mark = "✔" if self.passed else "✘"
        value = format_value(self.value, self.unit, volatile=self.volatile)
        target = format_value(self.target, self.unit)
        verdict = "met" if self.passed else "NOT met"
        return f"{mark} {self.name}: {value} (target {OPERATORS[self.op]} {target}) — {verdict} [{self.kind}]"

    def text(self) -> str:
        """The line, and what the learner's code controls in this figure."""
        return self.line() + (f"\n  what your code controls here: {self.controls}" if self.controls else "")

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "passed": self.passed}

    def __str__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.text(), RECORD_MIME: self.as_dict()}


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


def record(name: str, value: float, *, kind: str, at_least: float | None = None, at_most: float | None = None,
           unit: str = "", controls: str = "") -> None:
    """Record a measured success criterion and show it:
    `record("speed-up", 0.35, at_least=0.30, unit="%", kind="modelled", controls="...")`.

    `kind`: where the figure comes from offline, `exact`, `modelled` or `local` (see `KINDS`); in a
    live run a modelled figure is recorded as `live`. Give exactly one of `at_least` / `at_most`.
    """
    if (at_least is None) == (at_most is None):
        raise UsageError("record() needs exactly one target: at_least=... or at_most=...")
    if kind not in ("exact", "modelled", "local"):
        raise UsageError(f"record(kind=...) is 'exact', 'modelled' or 'local' (a live run relabels "
                          f"modelled figures itself), not {kind!r}")
    if kind == "modelled" and not config.current().simulated:
        kind = "live"
    op, target = (">=", at_least) if at_least is not None else ("<=", at_most)
    show(Record(name=name, value=float(value), op=op, target=float(target), unit=unit, kind=kind,
                controls=controls))


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
    fields = {f.name for f in dataclasses.fields(Record)}
    return [Record(**{k: v for k, v in data.items() if k in fields})
            for data in outputs_of_type(notebook, RECORD_MIME)]


def outputs_of_type(notebook: Path | Mapping[str, Any], mime: str) -> Iterable[dict[str, Any]]:
    """Every display payload of MIME type `mime` in a notebook (a path or a loaded nbformat dict)."""
    nb = json.loads(Path(notebook).read_text()) if isinstance(notebook, (str, Path)) else notebook
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            payload = output.get("data", {}).get(mime)
            if payload is not None:
                yield payload
