"""`labkit build-labs`: generate the student labs in `labs/` from the solved labs in `solutions/`.

A solution notebook is the single source of truth for its lab. Each answer is a region of a code cell:

    # BEGIN SOLUTION
    # PROMPT: cost = ...  # dollars for this call
    cost = labkit.cost.price(response.usage).total
    # END SOLUTION

The lab shows the region's `# PROMPT:` lines instead, minus the `# PROMPT: ` (indentation before the
`#` and after the `: ` is kept, so `# PROMPT:     ...` gives an indented `...`), or `...` at the
region's indentation when it has none. Markdown cells use `<!-- BEGIN SOLUTION -->` …
`<!-- END SOLUTION -->`, replaced by `*Your answer here.*`. Cells tagged `solution-only` are dropped.
Outputs, execution counts and all metadata but the kernel's are cleared, cell ids are kept (small
diffs), and the output is byte-identical from run to run, so `--check` can tell when `labs/` is stale.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..config import find_root
from ..errors import LabkitError

SOLUTIONS_DIR = "solutions"
LABS_DIR = "labs"
LESSONS_DIR = "notebooks"
LAB_GLOB = "*_lab.ipynb"

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
PROMPT = "# PROMPT:"
MD_MARKER = re.compile(r"<!--\s*(BEGIN|END) SOLUTION\s*-->")
MD_STUB = "*Your answer here.*"
SOLUTION_ONLY_TAG = "solution-only"
# Text that must never reach a student: any leftover means a malformed marker.
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION")
# Cell metadata worth keeping in a lab: tags drive papermill ("parameters") and nbval.
KEPT_CELL_METADATA = ("tags",)


class LabError(LabkitError):
    """A solution notebook's answer regions are malformed."""


@dataclass(frozen=True)
class Where:
    """Where a cell lives, for error messages: `solutions/00_x_lab.ipynb, cell 4 (id ab12)`."""

    notebook: str
    cell: int  # 1-based position among all cells, as Jupyter shows them top to bottom
    cell_id: str | None = None

    def __str__(self) -> str:
        return f"{self.notebook}, cell {self.cell}" + (f" (id {self.cell_id})" if self.cell_id else "")


# ---------------------------------------------------------------------------------------------
# Regions


def strip_code(source: str, where: Where | str = "<cell>") -> str:
    """A code cell's source with every solution region replaced by its prompt (or `...`)."""
    out: list[str] = []
    region: list[str] | None = None  # prompt lines of the open region
    indent = ""
    begin_line = 0
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if region is not None:
                raise LabError(f"{where}: nested `{BEGIN}` at line {number} "
                               f"(the region opened at line {begin_line} is not closed)")
            region, indent, begin_line = [], _indent(line), number
        elif stripped == END:
            if region is None:
                raise LabError(f"{where}: `{END}` without `{BEGIN}` at line {number}")
            out.extend(region or [indent + "..."])
            region = None
        elif region is not None:
            if stripped.startswith(PROMPT):
                region.append((_indent(line) + stripped[len(PROMPT):].removeprefix(" ")).rstrip())
        elif stripped.startswith(PROMPT):
            raise LabError(f"{where}: `{PROMPT}` at line {number} is outside a solution region")
        else:
            out.append(line)
    if region is not None:
        raise LabError(f"{where}: `{BEGIN}` at line {begin_line} is never closed with `{END}`")
    return _no_leftovers("\n".join(out), where)


def strip_markdown(source: str, where: Where | str = "<cell>") -> str:
    """A markdown cell's source with each `<!-- BEGIN SOLUTION -->` … `<!-- END … -->` replaced."""
    out: list[str] = []
    position = 0
    opened: re.Match[str] | None = None
    for marker in MD_MARKER.finditer(source):
        line = source.count("\n", 0, marker.start()) + 1
        if marker.group(1) == "BEGIN":
            if opened is not None:
                raise LabError(f"{where}: nested `<!-- BEGIN SOLUTION -->` at line {line}")
            out.append(source[position:marker.start()])
            opened = marker
        else:
            if opened is None:
                raise LabError(f"{where}: `<!-- END SOLUTION -->` without a BEGIN at line {line}")
            out.append(MD_STUB)
            opened = None
        position = marker.end()
    if opened is not None:
        line = source.count("\n", 0, opened.start()) + 1
        raise LabError(f"{where}: `<!-- BEGIN SOLUTION -->` at line {line} is never closed")
    out.append(source[position:])
    return _no_leftovers("".join(out), where)


def solution_markers(nb: nbformat.NotebookNode) -> list[int]:
    """1-based positions of the cells whose text mentions a solution marker (lessons must have none)."""
    return [i for i, cell in enumerate(nb.cells, start=1)
            if any(text in cell.source for text in FORBIDDEN)]


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _no_leftovers(text: str, where: Where | str) -> str:
    for forbidden in FORBIDDEN:
        if forbidden in text:
            line = text[:text.index(forbidden)].count("\n") + 1
            raise LabError(f"{where}: malformed solution marker at line {line} of the lab's text: write "
                           f"`{BEGIN}` / `{END}` alone on a line (markdown: `<!-- BEGIN SOLUTION -->`)")
    return text


# ---------------------------------------------------------------------------------------------
# Notebooks


def build_lab(solution: nbformat.NotebookNode, name: str = "<notebook>") -> nbformat.NotebookNode:
    """The student lab for a solution notebook (a new notebook; `solution` is left untouched)."""
    lab = nbformat.v4.new_notebook()
    lab.nbformat, lab.nbformat_minor = solution.nbformat, solution.nbformat_minor
    lab.metadata = _minimal_metadata(solution.metadata)
    seen_ids: set[str] = set()
    for number, cell in enumerate(solution.cells, start=1):
        where = Where(name, number, cell.get("id"))
        if cell.get("id") is not None:
            if cell.id in seen_ids:  # nbformat would "repair" it with a random id: not reproducible
                raise LabError(f"{where}: duplicate cell id {cell.id!r}; give the cell a new id")
            seen_ids.add(cell.id)
        if SOLUTION_ONLY_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        lab.cells.append(_student_cell(cell, where))
    return lab


def _student_cell(cell: nbformat.NotebookNode, where: Where) -> nbformat.NotebookNode:
    new = copy.deepcopy(cell)
    new.metadata = nbformat.NotebookNode(
        {key: copy.deepcopy(cell.metadata[key]) for key in KEPT_CELL_METADATA if cell.metadata.get(key)})
    if cell.cell_type == "code":
        new.source = strip_code(cell.source, where)
        new.outputs = []
        new.execution_count = None
    elif cell.cell_type == "markdown":
        new.source = strip_markdown(cell.source, where)
    else:
        new.source = _no_leftovers(cell.source, where)
    return new


def _minimal_metadata(metadata: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Only what a kernel needs. The Python version is dropped: it changes with whoever re-records."""
    kept = nbformat.NotebookNode()
    if "kernelspec" in metadata:
        kept.kernelspec = copy.deepcopy(metadata.kernelspec)
    if "language_info" in metadata:
        kept.language_info = nbformat.NotebookNode(
            {k: copy.deepcopy(v) for k, v in metadata.language_info.items() if k != "version"})
    return kept


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook's file text, exactly as `nbformat.write` saves it (with one trailing newline)."""
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # JSON or schema errors: one line naming the file
        raise LabError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


def expected_labs(root: Path) -> dict[Path, str]:
    """Every lab `labs/` should hold, path -> file text, generated from `solutions/*_lab.ipynb`."""
    labs: dict[Path, str] = {}
    for solution in sorted((root / SOLUTIONS_DIR).glob(LAB_GLOB)):
        name = f"{SOLUTIONS_DIR}/{solution.name}"
        labs[root / LABS_DIR / solution.name] = render(build_lab(read_notebook(solution), name))
    return labs


def stray_labs(root: Path, expected: dict[Path, str]) -> list[Path]:
    """Notebooks in `labs/` that no solution generates (renamed or deleted solutions, hand-made labs)."""
    return [path for path in sorted((root / LABS_DIR).glob("*.ipynb")) if path not in expected]


# ---------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if labs/ differs from what would be generated")
    parser.add_argument("--root", type=Path, default=None,
                        help="the course folder (default: the one labkit is installed from)")


def main(args: argparse.Namespace) -> int:
    root = (getattr(args, "root", None) or find_root()).resolve()
    if not root.is_dir():
        raise LabError(f"course folder {root} does not exist")
    expected = expected_labs(root)  # a missing solutions/ (git keeps no empty folders) means no labs
    problems = [f"{_rel(path, root)} has no {SOLUTIONS_DIR}/{path.name}: delete it, or restore its solution"
                for path in stray_labs(root, expected)]

    if getattr(args, "check", False):
        for path, text in expected.items():
            if not path.is_file():
                problems.append(f"{_rel(path, root)} is out of date (missing): run `labkit build-labs`")
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{_rel(path, root)} is out of date: run `labkit build-labs`")
        for problem in sorted(problems):
            print(problem, file=sys.stderr)
        if not problems:
            print(f"labs/ is up to date ({len(expected)} lab{'s' if len(expected) != 1 else ''})")
        return 1 if problems else 0

    (root / LABS_DIR).mkdir(exist_ok=True)
    for path, text in expected.items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            print(f"{_rel(path, root)}: unchanged")
            continue
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        print(f"{_rel(path, root)}: {'written' if current is None else 'updated'}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
