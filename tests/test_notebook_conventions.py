"""Static checks of the course's notebooks against DEVELOPERS.md's conventions (fast: nothing runs).

Lessons (`notebooks/`) and solved labs (`solutions/`) are checked for their shape and for clean,
complete recordings; generated labs (`labs/`) for having no outputs and no solutions, and for being
in sync with `solutions/`. With no notebooks yet, the parametrized tests are reported as skipped.
"""

from __future__ import annotations

import argparse
import ast
import functools
import re
from pathlib import Path

import nbformat
import pytest

from labkit.course import labs

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / labs.LESSONS_DIR).glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / labs.SOLUTIONS_DIR).glob("*.ipynb"))
LABS = sorted((ROOT / labs.LABS_DIR).glob("*.ipynb"))
RECORDED = LESSONS + SOLUTIONS  # notebooks stored with their outputs


def ids(paths: list[Path]) -> list[str]:
    return [path.relative_to(ROOT).as_posix() for path in paths]


def recorded(test):
    return pytest.mark.parametrize("path", RECORDED, ids=ids(RECORDED))(test)


@functools.cache
def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    """(1-based position among all cells, cell) for each code cell."""
    return [(i, cell) for i, cell in enumerate(nb.cells, start=1) if cell.cell_type == "code"]


# ---------------------------------------------------------------------------------------------
# Lessons and solutions


@recorded
def test_title_cell_states_learning_objectives(path):
    first = load(path).cells[0] if load(path).cells else None
    assert first is not None and first.cell_type == "markdown", "the first cell must be the markdown title cell"
    assert first.source.startswith("# "), "the title cell starts with `# Activity N — Title`"
    assert "Learning objectives" in first.source, "the title cell lists the **Learning objectives**"


@recorded
def test_one_parameters_cell_of_plain_values(path):
    tagged = [(i, cell) for i, cell in code_cells(load(path)) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"need exactly one code cell tagged `parameters`, found {len(tagged)}"
    position, cell = tagged[0]
    for statement in ast.parse(cell.source).body:
        assert _plain_assignment(statement), (
            f"cell {position}, line {statement.lineno}: the parameters cell holds only plain values "
            f"(NAME = literal); move `{ast.unparse(statement)}` to the next cell")


def _plain_assignment(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.Assign) or not all(isinstance(t, ast.Name) for t in statement.targets):
        return False
    value = statement.value
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
        value = value.operand
    return isinstance(value, ast.Constant)


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_lesson_ends_with_takeaways_then_success_criterion(path):
    def heading(title: str) -> tuple[int, int] | None:
        """(cell index, offset in the cell) of the first heading starting with `title`."""
        pattern = re.compile(rf"^#+\s+{title}\b", re.IGNORECASE | re.MULTILINE)
        return next(((i, match.start()) for i, cell in enumerate(load(path).cells)
                     if cell.cell_type == "markdown" and (match := pattern.search(cell.source))), None)

    takeaways, criterion = heading("Key takeaways"), heading("Success criteri(?:on|a)")
    assert takeaways is not None, "missing the `## Key takeaways` heading"
    assert criterion is not None, "missing the `## Success criterion` heading"
    assert takeaways < criterion, "`## Key takeaways` comes before `## Success criterion`"


@recorded
def test_recorded_top_to_bottom(path):
    cells = code_cells(load(path))
    empty = [i for i, cell in cells if not cell.source.strip()]
    assert not empty, f"remove the empty code cell(s) {empty}: they are never executed"
    counts = [cell.execution_count for _, cell in cells]
    name = path.relative_to(ROOT).as_posix()
    assert counts == list(range(1, len(cells) + 1)), (
        f"execution counts {counts}: re-record it top to bottom: `labkit record {name}`")


@recorded
def test_no_error_outputs(path):
    errors = [f"cell {i}: {out.get('ename')}: {out.get('evalue')}" for i, cell in code_cells(load(path))
              for out in cell.outputs if out.output_type == "error"]
    assert not errors, "error outputs (demonstrate errors with try/except): " + "; ".join(errors)


@pytest.mark.parametrize("path", RECORDED + LABS, ids=ids(RECORDED + LABS))
def test_no_api_keys(path):
    assert "sk-ant-" not in path.read_text(encoding="utf-8"), "an Anthropic API key is stored in the notebook"


@pytest.mark.parametrize("path", LESSONS + LABS, ids=ids(LESSONS + LABS))
def test_no_solution_markers(path):
    cells = labs.solution_markers(load(path))
    assert not cells, (f"cells {cells} mention a solution marker: regions belong in solutions/ only"
                       if path in LESSONS else f"cells {cells} leak a solution: run `labkit build-labs`")


# ---------------------------------------------------------------------------------------------
# Generated labs


@pytest.mark.parametrize("path", LABS, ids=ids(LABS))
def test_lab_has_no_outputs(path):
    recorded_cells = [i for i, cell in code_cells(load(path)) if cell.outputs or cell.execution_count]
    assert not recorded_cells, f"cells {recorded_cells} carry outputs: run `labkit build-labs`"


def test_labs_in_sync_with_solutions(capsys):
    status = labs.main(argparse.Namespace(check=True, root=ROOT))
    assert status == 0, capsys.readouterr().err
