"""labkit.course.labs: solution regions become stubs, and `build-labs --check` catches drift."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from labkit.course import labs
from labkit.course.labs import LabError, build_lab, render, strip_code, strip_markdown
from labkit.errors import LabkitError

# ---------------------------------------------------------------------------------------------
# Code regions


def test_prompt_lines_keep_their_indentation_and_trailing_comment():
    source = "\n".join([
        "response = call()",
        "if response:",
        "    # BEGIN SOLUTION",
        "    # PROMPT: cost = ...  # dollars for this call: use labkit.cost.price",
        "    cost = labkit.cost.price(response.usage).total",
        "    # END SOLUTION",
        "labkit.check('00.q1', cost)",
    ])
    assert strip_code(source) == "\n".join([
        "response = call()",
        "if response:",
        "    cost = ...  # dollars for this call: use labkit.cost.price",
        "labkit.check('00.q1', cost)",
    ])


def test_several_prompt_lines_each_keep_their_own_indentation():
    source = "\n".join([
        "# BEGIN SOLUTION",
        "# PROMPT: def speed_up(before, after):",
        "#     PROMPT: ...",  # not a prompt: `# PROMPT:` must start the stripped line
        "    # PROMPT: return ...",
        "def speed_up(before, after):",
        "    return before / after",
        "# END SOLUTION",
    ])
    assert strip_code(source) == "def speed_up(before, after):\n    return ..."


def test_region_without_prompt_becomes_ellipsis_at_its_indentation():
    source = "for call in calls:\n        # BEGIN SOLUTION\n        total += call.cost\n        # END SOLUTION"
    assert strip_code(source) == "for call in calls:\n        ..."


def test_several_regions_in_one_cell():
    source = "\n".join([
        "# BEGIN SOLUTION",
        "# PROMPT: a = ...",
        "a = 1",
        "# END SOLUTION",
        "labkit.check('00.q1', a)",
        "# BEGIN SOLUTION",
        "b = 2",
        "# END SOLUTION",
        "labkit.check('00.q2', b)",
    ])
    assert strip_code(source) == "a = ...\nlabkit.check('00.q1', a)\n...\nlabkit.check('00.q2', b)"


def test_cells_without_regions_are_unchanged():
    source = "import labkit\n\n\nprint('hi')  \n"
    assert strip_code(source) == source


@pytest.mark.parametrize(("source", "message"), [
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n# END SOLUTION",
     r"solutions/00_x_lab.ipynb, cell 3 \(id abc\): nested `# BEGIN SOLUTION` at line 2"),
    ("x = 1\n# BEGIN SOLUTION\nx = 2",
     r"solutions/00_x_lab.ipynb, cell 3 \(id abc\): `# BEGIN SOLUTION` at line 2 is never closed"),
    ("x = 1\n# END SOLUTION",
     r"solutions/00_x_lab.ipynb, cell 3 \(id abc\): `# END SOLUTION` without `# BEGIN SOLUTION` at line 2"),
    ("# PROMPT: x = ...\nx = 1",
     r"cell 3 \(id abc\): `# PROMPT:` at line 1 is outside a solution region"),
    ("x = 1  # BEGIN SOLUTION\nx = 2",
     r"cell 3 \(id abc\): malformed solution marker at line 1"),
    ("### BEGIN SOLUTION\nx = 2\n### END SOLUTION",
     r"cell 3 \(id abc\): malformed solution marker"),
])
def test_malformed_regions_name_the_notebook_and_cell(source, message):
    where = labs.Where("solutions/00_x_lab.ipynb", 3, "abc")
    with pytest.raises(LabError, match=message) as raised:
        strip_code(source, where)
    assert isinstance(raised.value, LabkitError)  # the CLI prints it as one line


# ---------------------------------------------------------------------------------------------
# Markdown regions


def test_markdown_regions_become_your_answer_here():
    source = ("**Why is the second call faster?**\n\n<!-- BEGIN SOLUTION -->\nThe prefix was cached.\n"
              "<!-- END SOLUTION -->\n\nAnd inline: <!--BEGIN SOLUTION-->42<!-- END SOLUTION --> calls.")
    assert strip_markdown(source) == ("**Why is the second call faster?**\n\n*Your answer here.*\n\n"
                                      "And inline: *Your answer here.* calls.")


@pytest.mark.parametrize(("source", "message"), [
    ("<!-- BEGIN SOLUTION -->\na\n<!-- BEGIN SOLUTION -->\nb\n<!-- END SOLUTION -->", "nested .* at line 3"),
    ("intro\n<!-- BEGIN SOLUTION -->\nanswer", "at line 2 is never closed"),
    ("answer\n<!-- END SOLUTION -->", "without a BEGIN at line 2"),
    ("BEGIN SOLUTION: answer", "malformed solution marker"),
])
def test_malformed_markdown_regions(source, message):
    with pytest.raises(LabError, match=r"lab\.ipynb, cell 2: .*" + message):
        strip_markdown(source, labs.Where("lab.ipynb", 2))


# ---------------------------------------------------------------------------------------------
# Notebooks


def solution_notebook() -> nbformat.NotebookNode:
    """A tiny solved lab: title, parameters, an answer with a prompt, a written answer, a demo."""
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.7", "file_extension": ".py"},
        "papermill": {"duration": 1.5},
        "widgets": {"state": {}},
    })
    cells = [
        new_markdown_cell("# Activity 99 — Test lab\n\n**Learning objectives**\n\n- build labs", id="title"),
        new_code_cell("SEED = 0", id="params", execution_count=1,
                      metadata={"tags": ["parameters"], "execution": {"iopub.status.busy": "2025-01-01"}}),
        new_code_cell("# BEGIN SOLUTION\n# PROMPT: answer = ...  # the answer\nanswer = 42\n# END SOLUTION\n"
                      "print(answer)", id="answer", execution_count=2,
                      outputs=[new_output("stream", name="stdout", text="42\n")]),
        new_markdown_cell("Explain:\n\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->", id="explain"),
        new_code_cell("print('instructor demo')", id="demo", execution_count=3,
                      metadata={"tags": ["solution-only"]},
                      outputs=[new_output("stream", name="stdout", text="instructor demo\n")]),
        new_code_cell("x = 1 + 1\nx", id="after", execution_count=4,
                      outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=4)]),
    ]
    nb.cells = cells
    return nb


def test_build_lab_stubs_clears_outputs_and_keeps_ids():
    solution = solution_notebook()
    original = json.dumps(solution, sort_keys=True)
    lab = build_lab(solution, "solutions/99_test_lab.ipynb")

    assert json.dumps(solution, sort_keys=True) == original  # the solution is not modified
    assert [c.id for c in lab.cells] == ["title", "params", "answer", "explain", "after"]  # demo dropped
    assert lab.cells[2].source == "answer = ...  # the answer\nprint(answer)"
    assert lab.cells[3].source == "Explain:\n\n*Your answer here.*"
    for cell in lab.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert lab.cells[1].metadata == {"tags": ["parameters"]}  # papermill's tag kept, timing dropped
    assert lab.cells[2].metadata == {}
    assert set(lab.metadata) == {"kernelspec", "language_info"}
    assert "version" not in lab.metadata.language_info  # changes with whoever re-records
    text = render(lab)
    assert "SOLUTION" not in text and "instructor demo" not in text
    assert text.endswith("}\n") and not text.endswith("\n\n")
    nbformat.validate(nbformat.reads(text, as_version=4))


def test_build_is_deterministic():
    assert render(build_lab(solution_notebook())) == render(build_lab(solution_notebook()))


def test_duplicate_cell_ids_are_an_error():
    nb = solution_notebook()
    nb.cells[3].id = "answer"
    with pytest.raises(LabError, match=r"x\.ipynb, cell 4 \(id answer\): duplicate cell id"):
        build_lab(nb, "x.ipynb")


def test_errors_name_the_notebook_and_cell_number():
    nb = solution_notebook()
    nb.cells[5].source = "# BEGIN SOLUTION\nx = 1"
    with pytest.raises(LabError, match=r"solutions/99_test_lab\.ipynb, cell 6 \(id after\): "):
        build_lab(nb, "solutions/99_test_lab.ipynb")


def test_solution_markers_finds_cells_mentioning_them():
    nb = solution_notebook()
    assert labs.solution_markers(nb) == [3, 4]


# ---------------------------------------------------------------------------------------------
# End to end: a course folder in tmp_path


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "solutions").mkdir()
    nbformat.write(solution_notebook(), tmp_path / "solutions" / "99_test_lab.ipynb")
    # Not a lab: only solutions/*_lab.ipynb are built.
    nbformat.write(new_notebook(), tmp_path / "solutions" / "notes.ipynb")
    return tmp_path


def run(root: Path, *options: str) -> int:
    parser = argparse.ArgumentParser()
    labs.add_arguments(parser)
    return labs.main(parser.parse_args([*options, "--root", str(root)]))


def test_build_then_check(course: Path, capsys):
    assert run(course, "--check") == 1
    assert "labs/99_test_lab.ipynb is out of date (missing): run `labkit build-labs`" in capsys.readouterr().err

    assert run(course) == 0
    assert "labs/99_test_lab.ipynb: written" in capsys.readouterr().out
    lab_path = course / "labs" / "99_test_lab.ipynb"
    first = lab_path.read_bytes()
    assert sorted(p.name for p in (course / "labs").iterdir()) == ["99_test_lab.ipynb"]
    assert b"SOLUTION" not in first and b'"outputs": []' in first

    assert run(course, "--check") == 0
    assert run(course) == 0
    assert "unchanged" in capsys.readouterr().out
    assert lab_path.read_bytes() == first  # byte-identical on re-run


def test_check_detects_drift_and_writes_nothing(course: Path, capsys):
    assert run(course) == 0
    lab_path = course / "labs" / "99_test_lab.ipynb"
    solution_path = course / "solutions" / "99_test_lab.ipynb"
    nb = nbformat.read(solution_path, as_version=4)
    nb.cells[5].source = "x = 2 + 2\nx"
    nbformat.write(nb, solution_path)
    before = lab_path.read_bytes()
    capsys.readouterr()

    assert run(course, "--check") == 1
    assert capsys.readouterr().err == "labs/99_test_lab.ipynb is out of date: run `labkit build-labs`\n"
    assert lab_path.read_bytes() == before

    assert run(course) == 0
    assert "updated" in capsys.readouterr().out
    assert run(course, "--check") == 0


def test_hand_edits_to_a_lab_are_drift(course: Path, capsys):
    assert run(course) == 0
    lab_path = course / "labs" / "99_test_lab.ipynb"
    lab_path.write_text(lab_path.read_text().replace("answer = ...", "answer = 42"))
    assert run(course, "--check") == 1
    assert "out of date" in capsys.readouterr().err


def test_stray_labs_are_flagged(course: Path, capsys):
    assert run(course) == 0
    nbformat.write(new_notebook(), course / "labs" / "98_renamed_lab.ipynb")
    capsys.readouterr()
    assert run(course, "--check") == 1
    assert capsys.readouterr().err == (
        "labs/98_renamed_lab.ipynb has no solutions/98_renamed_lab.ipynb: delete it, or restore its solution\n")
    assert run(course) == 1  # building cannot fix it either
    assert (course / "labs" / "98_renamed_lab.ipynb").exists()  # but never deletes anything


def test_a_course_without_solutions_is_in_sync(tmp_path: Path):
    assert run(tmp_path, "--check") == 0  # git keeps no empty solutions/ folder


def test_malformed_solution_stops_the_build(course: Path):
    path = course / "solutions" / "99_test_lab.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source += "\n# END SOLUTION"
    nbformat.write(nb, path)
    with pytest.raises(LabError, match=r"solutions/99_test_lab\.ipynb, cell 3 \(id answer\): `# END SOLUTION`"):
        run(course)
    assert not (course / "labs").exists()


def test_cli_prints_errors_as_one_line(course: Path, capsys, monkeypatch):
    """`labkit build-labs` through the real CLI (only this command loaded: the others are separate)."""
    from labkit import cli

    monkeypatch.setattr(cli, "COMMANDS", {"build-labs": cli.COMMANDS["build-labs"]})
    assert cli.main(["build-labs", "--check", "--root", str(course)]) == 1
    path = course / "solutions" / "99_test_lab.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source = "# BEGIN SOLUTION"
    nbformat.write(nb, path)
    capsys.readouterr()
    assert cli.main(["build-labs", "--root", str(course)]) == 2
    assert capsys.readouterr().err == (
        "labkit: error: solutions/99_test_lab.ipynb, cell 3 (id answer): "
        "`# BEGIN SOLUTION` at line 1 is never closed with `# END SOLUTION`\n")
