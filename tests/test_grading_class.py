"""`labkit grade` on a class from the command line, resuming, feedback after the deadline, a Dask
cluster as executor, and `labkit bundle`.

One module-scoped class run (three submissions, two workers) is shared; re-runs resume, so they
execute nothing. The Dask test grades one submission on a one-worker local cluster.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from grading_submissions import make  # noqa: I001 - tests/grading_submissions/make.py; pytest puts tests/ on sys.path

from labkit import cli
from labkit.config import find_root
from labkit.course import labs
from labkit.grading import bundle, classroom
from labkit.grading import hidden as hidden_checks
from labkit.grading.execute import Settings

ROOT = find_root()
HERE = Path(__file__).parent / "grading_submissions"
AFTER_DEADLINE = "five timings, each the modelled seconds of that review call"  # lab00.py, q3



def run_cli(*argv: str) -> tuple[int, str, str]:
    """`labkit ...` in this process, with the grading commands registered (cli.py gains them on merge)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(cli.COMMANDS, "grade", ("labkit.grading.cli", "grade lab submissions"))
        mp.setitem(cli.COMMANDS, "bundle", ("labkit.grading.bundle", "build the student bundle"))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """bob/ holds a solved lab in a student folder; ann.ipynb a wrong one; cy.ipynb an untouched lab."""
    subs, out = tmp_path_factory.mktemp("class"), tmp_path_factory.mktemp("graded")
    (subs / "bob").mkdir()
    nbformat.write(make.solved(), subs / "bob" / "00_start_here_lab.ipynb")
    make.write_cases(subs, ["wrong_answers"])
    (subs / "wrong_answers.ipynb").rename(subs / "ann.ipynb")
    shutil.copy(ROOT / "labs" / "00_start_here_lab.ipynb", subs / "cy.ipynb")
    first = run_cli("grade", str(subs), "--out", str(out), "--workers", "2", "--no-progress")
    return {"subs": subs, "out": out, "first": first}


def test_a_class_run_grades_everyone_and_exits_0(klass: dict) -> None:
    code, stdout, _ = klass["first"]
    assert code == 0, stdout
    assert "3 submission(s): 3 graded now, 0 resumed, 0 could not be graded" in stdout
    lines = {line.split()[0]: line for line in stdout.splitlines()[1:4]}
    assert "7/7" in lines["bob"] and "1.5/7" in lines["ann"] and "0/7" in lines["cy"]


def test_the_gradebook_has_a_row_per_student_and_a_column_per_question(klass: dict) -> None:
    rows = list(csv.DictReader((klass["out"] / "gradebook.csv").read_text().splitlines()))
    assert [row["student"] for row in rows] == ["ann", "bob", "cy"]
    assert list(rows[0])[:5] == ["student", "00.q1", "00.q2", "00.q3", "total"]
    assert {row["student"]: row["total"] for row in rows} == {"ann": "1.5", "bob": "7", "cy": "0"}


def test_each_student_gets_records_feedback_and_the_executed_notebook(klass: dict) -> None:
    out = klass["out"]
    for student, stem in (("bob", "00_start_here_lab"), ("ann", "ann"), ("cy", "cy")):
        record = json.loads((out / "records" / student / f"{stem}.json").read_text())
        assert record["student"] == student and record["lab"] == "00"
        markdown = (out / "feedback" / student / f"{stem}.md").read_text()
        assert markdown.startswith(f"# Lab 00 — feedback for {student}")
        assert "<!DOCTYPE html>" in (out / "feedback" / student / f"{stem}.html").read_text()
        nbformat.validate(nbformat.read(out / "executed" / student / f"{stem}.ipynb", as_version=4))
    assert AFTER_DEADLINE not in (out / "feedback" / "bob" / "00_start_here_lab.md").read_text()


def test_a_rerun_resumes_and_after_the_deadline_feedback_says_more(klass: dict) -> None:
    record = klass["out"] / "records" / "bob" / "00_start_here_lab.json"
    before = json.loads(record.read_text())["finished"]
    code, stdout, _ = run_cli("grade", str(klass["subs"]), "--out", str(klass["out"]), "--no-progress",
                              "--after-deadline")
    assert code == 0
    assert "0 graded now, 3 resumed" in stdout
    assert json.loads(record.read_text())["finished"] == before
    assert AFTER_DEADLINE in (klass["out"] / "feedback" / "bob" / "00_start_here_lab.md").read_text()


def test_a_changed_submission_or_a_changed_grader_is_regraded(klass: dict) -> None:
    jobs = classroom.make_jobs(classroom.submission.discover([klass["subs"]]), root=ROOT, settings=Settings(),
                               instructor_dir=ROOT / "instructor")
    reusable = {job.student: classroom._reusable(klass["out"], job) is not None for job in jobs}
    assert reusable == {"ann": True, "bob": True, "cy": True}
    changed = [classroom.dataclasses.replace(job, sha256="0" * 64) for job in jobs]
    assert not any(classroom._reusable(klass["out"], job) for job in changed)
    other_seed = classroom.make_jobs(classroom.submission.discover([klass["subs"]]), root=ROOT,
                                     settings=Settings(seed=1), instructor_dir=ROOT / "instructor")
    assert not any(classroom._reusable(klass["out"], job) for job in other_seed)


def test_a_submission_that_cannot_be_graded_exits_1_without_losing_the_others(tmp_path: Path, klass: dict) -> None:
    subs = tmp_path / "subs"
    shutil.copytree(klass["subs"], subs)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('no checks here')")]),
                   subs / "mystery.ipynb")
    out = tmp_path / "out"
    shutil.copytree(klass["out"], out)
    code, stdout, _ = run_cli("grade", str(subs), "--out", str(out), "--no-progress")
    assert code == 1
    assert "3 resumed, 1 could not be graded" in stdout
    assert "cannot tell which lab" in stdout
    assert "mystery" in (out / "gradebook.csv").read_text()


@pytest.mark.parametrize("argv, message", [
    (["nowhere/"], "no such submission or folder"),
    (["{subs}", "--lab", "99"], "no single released lab 99"),
])
def test_bad_input_exits_2_with_one_line(klass: dict, argv: list, message: str) -> None:
    code, _, stderr = run_cli("grade", *[a.format(subs=klass["subs"]) for a in argv], "--out", "/tmp/x-unused")
    assert code == 2
    assert stderr.startswith("labkit: error:") and message in stderr


def test_grading_runs_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    nbformat.write(make.solved(), tmp_path / "dee.ipynb")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        result = classroom.grade_class([tmp_path / "dee.ipynb"], out=tmp_path / "out", executor=client,
                                       progress=False)
    (rec,) = result.records
    assert rec["status"] == "graded" and rec["score"] == rec["max_score"] == 7
    assert (tmp_path / "out" / "records" / "dee" / "dee.json").is_file()


# --------------------------------------------------------------------------- the student bundle


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bundle") / "student.zip"
    code, stdout, _ = run_cli("bundle", "--out", str(out))
    return {"code": code, "stdout": stdout, "zip": out}


def test_the_bundle_holds_what_students_need(built: dict) -> None:
    assert built["code"] == 0, built["stdout"]
    names = zipfile.ZipFile(built["zip"]).namelist()
    tops = {name.split("/")[1] for name in names}
    assert {"notebooks", "labs", "src", "data", "README.md", "pyproject.toml", "environment.yml",
            "bootstrap.py"} <= tops
    assert "labkit-student/src/labkit/checks/lab00.py" in names
    for path, text in labs.expected_labs(ROOT).items():
        assert zipfile.ZipFile(built["zip"]).read(f"labkit-student/labs/{path.name}").decode() == text


def _hidden_names() -> set[str]:
    """Names and descriptions of every hidden check: none may appear in anything students receive."""
    names = set()
    for path in (ROOT / "instructor" / "hidden").glob("lab*.py"):
        module = hidden_checks.load(path.stem[3:], path.read_text(), str(path))
        names |= {check.id.split(":", 1)[1] for check in module.checks} | {check.message for check in module.checks}
    return names


def test_nothing_instructor_only_leaks_into_the_bundle(built: dict) -> None:
    archive = zipfile.ZipFile(built["zip"])
    hidden = {p.read_bytes() for p in (ROOT / "instructor").rglob("*.py")}
    secrets = _hidden_names()
    assert secrets
    for name in archive.namelist():
        parts = name.split("/")
        assert parts[1] not in ("solutions", "instructor", "tests", "runs", ".git", ".venv"), name
        assert "__pycache__" not in parts and "generated" not in parts, name
        data = archive.read(name)
        assert data not in hidden
        if name.endswith(".ipynb"):
            assert b"BEGIN SOLUTION" not in data and b"END SOLUTION" not in data, name
        for secret in secrets:
            assert secret.encode() not in data, (name, secret)


def test_the_bundle_is_reproducible(built: dict, tmp_path: Path) -> None:
    again, _ = bundle.build(ROOT, tmp_path / "again.zip")
    assert again.read_bytes() == built["zip"].read_bytes()


def test_a_leak_stops_the_bundle_before_anything_is_written(tmp_path: Path) -> None:
    files = bundle.collect(ROOT)
    files["solutions/00_start_here_lab.ipynb"] = (ROOT / "solutions" / "00_start_here_lab.ipynb").read_bytes()
    files["docs/copied.py"] = (ROOT / "instructor" / "hidden" / "lab00.py").read_bytes()
    files["notes.md"] = b"# BEGIN SOLUTION\n"
    found = bundle.problems(files, ROOT)
    assert any("solutions/ is instructor-only" in p for p in found)
    assert any("identical to instructor file instructor/hidden/lab00.py" in p for p in found)
    assert any("notes.md: contains a solution marker" in p for p in found)
    assert any("cell" in p and "solution marker" in p for p in found)
