"""Submissions: finding them, telling whose and which lab each is, and preparing one for execution.

Layouts accepted by `labkit grade`:

    submissions/alice.ipynb                         student "alice" (the file's stem)
    submissions/bob/00_start_here_lab.ipynb         student "bob" (the folder), one notebook per lab

Symbolic links are refused (a link could hand in the solution, a classmate's file or any file on the
machine): each becomes an error record naming it. Two files that would be graded under one name
(`a b.ipynb` and `a_b.ipynb`) are both graded, the second renamed with a suffix and flagged.

Which lab a submission answers is read from its `labkit.check("NN.qK", ...)` calls (the most common
lab number), else from a file name starting `NN_`; `--lab NN` overrides both. The released lab
(`labs/NN_*_lab.ipynb`, written by `labkit build-labs`) defines the graded questions, the parameters
the grader injects and the constants hidden checks may read.

Before execution a submission is *sanitised*: every output, execution count and metadata field it
arrived with is dropped (only what the grader produces is graded), cell tags other than `parameters`
are removed (a student cannot mark a cell to be skipped or to hide errors), and the parameters cell
is re-tagged if a student removed its tag, so the grader's values are injected after it; only a
code cell can be the parameters cell. In the kernel `LABKIT_LOCKED=1` makes the grader's backend,
seed and time scale win over any value the notebook passes to `labkit.configure`.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..course.labs import LAB_GLOB, LABS_DIR
from ..errors import LabkitError

CHECK_CALL = re.compile(r"""(?<![\w])check\(\s*(?P<q>["'])(?P<id>(?P<lab>[A-Za-z0-9_]+)\.[A-Za-z0-9_.]+)(?P=q)""")
LAB_PREFIX = re.compile(r"^(\d+)_")
STUDENT_ID = re.compile(r"[^A-Za-z0-9._@-]+")
MAX_SUBMISSION_BYTES = 50 * 2**20


class SubmissionError(LabkitError):
    """A submission cannot be graded as given (unreadable, unknown lab ...)."""


@dataclasses.dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    stem: str = ""           # the name it is graded under (default: the file's stem, made safe)
    problem: str = ""        # why it cannot be graded at all (a symbolic link)
    note: str = ""           # for the instructor: why it is graded under another name

    @property
    def key(self) -> str:
        return f"{self.student}/{self.stem or student_id(self.path.stem)}"


@dataclasses.dataclass(frozen=True)
class ReleasedLab:
    """What the grader knows about a lab from its released (student) notebook."""

    lab: str
    path: Path
    questions: tuple[str, ...]
    parameters: dict[str, Any]
    constants: dict[str, Any]
    parameters_cell_id: str | None = None


# --------------------------------------------------------------------------- finding submissions


def discover(paths: Sequence[str | Path]) -> list[Submission]:
    """Submissions under `paths` (files or folders), sorted, each once; bad paths fail early.

    A path given here is the instructor's; inside a folder, symbolic links (files or student
    folders) are refused with a reason, and two files graded under one name are told apart."""
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise SubmissionError(f"no such submission or folder: {path}")
        if path.is_file():
            if path.suffix != ".ipynb":
                raise SubmissionError(f"not a notebook (expected a .ipynb file): {path}")
            found.append(Submission(student_id(path.stem), path.resolve()))
            continue
        students: set[str] = set()
        for notebook in sorted(path.glob("*.ipynb")):  # one student per file: two files, two students
            student, n = student_id(notebook.stem), 1
            while student in students:
                n += 1
                student = f"{student_id(notebook.stem)}-{n}"
            students.add(student)
            sub = _found(student, notebook)
            if n > 1:
                sub = dataclasses.replace(sub, note=f"graded as student {student}: another file's name gives "
                                                    f"the same student id as {notebook.name}")
            found.append(sub)
        for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if folder.is_symlink():
                found.append(_found(student_id(folder.name), folder))
                continue
            for notebook in sorted(folder.glob("*.ipynb")):
                found.append(_found(student_id(folder.name), notebook))
    unique = distinct_names(list(dict.fromkeys(found)))
    if not unique:
        raise SubmissionError(f"no notebooks (*.ipynb) in {', '.join(str(p) for p in paths)}")
    return unique


def _found(student: str, path: Path) -> Submission:
    """A file found in a submissions folder: its absolute path (never resolved through a link)."""
    absolute = path.absolute()
    if path.is_symlink():
        return Submission(student, absolute, problem=f"{path.name} is a symbolic link, not a notebook file: "
                                                     "links are not graded (hand in the file itself)")
    return Submission(student, absolute)


def distinct_names(subs: list[Submission]) -> list[Submission]:
    """Each submission under a name of its own: a second file that would collide gets `-2`, `-3`."""
    taken: set[str] = set()
    out = []
    for sub in subs:
        stem, n = student_id(sub.path.stem), 1
        while f"{sub.student}/{stem}" in taken:
            n += 1
            stem = f"{student_id(sub.path.stem)}-{n}"
        taken.add(f"{sub.student}/{stem}")
        note = sub.note or (f"graded as {sub.student}/{stem}: another file of {sub.student} had the same name"
                            if n > 1 else "")
        out.append(dataclasses.replace(sub, stem=stem, note=note))
    return out


def student_id(name: str) -> str:
    """A name safe as a file name and a CSV cell: `Ana María` -> `Ana_Mar_a`."""
    cleaned = STUDENT_ID.sub("_", name).strip("._") or "student"
    return cleaned[:100]


# --------------------------------------------------------------------------- reading notebooks


def read(data: bytes, name: str = "submission") -> Any:
    """A submission's bytes as a notebook, or a one-line reason it cannot be one."""
    import nbformat

    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{name} is {len(data) / 2**20:.0f} MB: larger than the "
                              f"{MAX_SUBMISSION_BYTES // 2**20} MB a submission may be")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # not UTF-8, not JSON, not a notebook
        detail = " ".join(str(exc).split())[:160]
        raise SubmissionError(f"{name} is not a readable notebook ({type(exc).__name__}: {detail})") from None
    return nb


def questions_in(nb: Any) -> list[str]:
    """Question ids of the `labkit.check(...)` calls in the notebook's code, in order, each once."""
    ids = [m.group("id") for cell in nb.cells if cell.cell_type == "code" for m in CHECK_CALL.finditer(cell.source)]
    return list(dict.fromkeys(ids))


def detect_lab(nb: Any, filename: str) -> str | None:
    """The lab a notebook answers: the most common lab of its check calls, else its file name's prefix."""
    labs = collections.Counter(q.split(".", 1)[0] for q in questions_in(nb))
    if labs:
        return labs.most_common(1)[0][0]
    match = LAB_PREFIX.match(Path(filename).name)
    return match.group(1) if match else None


def check_cells(nb: Any, question: str) -> list[int]:
    """Indices of the code cells that call `check("<question>", ...)`."""
    return [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and any(m.group("id") == question for m in CHECK_CALL.finditer(cell.source))]


def sanitise(nb: Any, lab: ReleasedLab | None) -> Any:
    """A copy fit to execute: no outputs, counts, metadata or tags but `parameters` (see module doc)."""
    import nbformat

    clean = nbformat.v4.new_notebook()
    clean.metadata = nbformat.NotebookNode({"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"},
                                            "language_info": {"name": "python"}})
    has_parameters = False
    for cell in nb.cells:
        if cell.cell_type not in ("code", "markdown", "raw"):
            continue
        tags = [t for t in cell.get("metadata", {}).get("tags", []) if t == "parameters" and cell.cell_type == "code"]
        if lab is not None and lab.parameters_cell_id and cell.get("id") == lab.parameters_cell_id:
            tags = ["parameters"]
        if tags and has_parameters:
            tags = []
        has_parameters = has_parameters or bool(tags)
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        new.metadata = nbformat.NotebookNode({"tags": tags})
        clean.cells.append(new)
    return clean


# --------------------------------------------------------------------------- released labs


def released_lab(root: Path, lab: str) -> ReleasedLab:
    """The released lab `labs/<lab>_*_lab.ipynb`: its questions, parameters and literal constants."""
    import nbformat

    matches = sorted((root / LABS_DIR).glob(f"{lab}_{LAB_GLOB}")) if lab else []
    if len(matches) != 1:
        found = ", ".join(m.name for m in matches) or "none"
        raise SubmissionError(f"no single released lab {lab} in {root / LABS_DIR} (found: {found}); "
                              "run `labkit build-labs`, or pass the right --lab")
    nb = nbformat.read(matches[0], as_version=4)
    questions = tuple(q for q in questions_in(nb) if q.startswith(f"{lab}."))
    parameters, cell_id = {}, None
    constants: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        values = literal_assignments(cell.source)
        if "parameters" in cell.metadata.get("tags", []) and cell_id is None:
            parameters, cell_id = values, cell.get("id")
        else:
            constants.update(values)
    return ReleasedLab(lab, matches[0], questions, parameters, constants, cell_id)


def literal_assignments(source: str) -> dict[str, Any]:
    """`NAME = <literal>` statements of a cell, evaluated safely (no code runs)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    values: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
    return values


def injected_parameters(lab: ReleasedLab | None, *, seed: int, time_scale: float) -> dict[str, Any]:
    """What papermill injects: the released lab's own defaults (a student's edits to the knobs do not
    count), then the grader's backend, seed and time scale."""
    values = dict(lab.parameters) if lab is not None else {}
    values.update({"BACKEND": "sim", "SEED": seed, "TIME_SCALE": time_scale})
    return values

