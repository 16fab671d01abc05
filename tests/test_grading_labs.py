"""Every solution scores full marks and every generated lab scores zero, graded as a student's would be.

Parametrized over whatever is in solutions/ and labs/ (new labs join automatically). All notebooks
are graded in one class run with two workers (a module-scoped fixture). A lab without an instructor
module is graded on its visible checks alone, against the contexts its notebook exports.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from labkit.config import find_root
from labkit.grading import classroom
from labkit.grading.execute import Settings

ROOT = find_root()
SOLUTIONS = sorted((ROOT / "solutions").glob("*_lab.ipynb"))
LABS = sorted((ROOT / "labs").glob("*_lab.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    subs, out = tmp_path_factory.mktemp("submissions"), tmp_path_factory.mktemp("graded")
    for path in SOLUTIONS:
        shutil.copy(path, subs / f"solution-{path.stem}.ipynb")
    for path in LABS:
        shutil.copy(path, subs / f"lab-{path.stem}.ipynb")
    result = classroom.grade_class([subs], out=out, workers=2, progress=False, settings=Settings(cell_timeout=120))
    return {rec["student"]: rec for rec in result.records}


def _explain(rec: dict) -> list:
    return [(c["id"], c["passed"], c["message"], c["context"]) for c in rec["checks"] if not c["passed"]] + \
        [rec["error"], rec["execution"].get("cells")]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solution_scores_full_marks(graded: dict, path) -> None:
    rec = graded[f"solution-{path.stem}"]
    assert rec["status"] == "graded", rec["error"]
    assert rec["lab"] == path.name.split("_", 1)[0]
    assert rec["questions"], "a lab has graded questions"
    assert rec["score"] == rec["max_score"] > 0, _explain(rec)


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_generated_lab_scores_zero_on_every_question(graded: dict, path) -> None:
    rec = graded[f"lab-{path.stem}"]
    assert rec["status"] == "graded", rec["error"]
    assert rec["score"] == 0 and rec["max_score"] > 0
    assert all(q["score"] == 0 and q["status"] in ("not answered", "answered") for q in rec["questions"])
    assert not rec["execution"]["cells"], "a lab runs through with its stubs"


TIMED = [ROOT / "solutions" / f"{name}.ipynb" for name in ("00_start_here_lab", "03_parallel_research_lab")]


def _verdicts(rec: dict) -> list:
    return [(c["id"], c["passed"]) for c in rec["checks"]] + [(q["question"], q["score"]) for q in rec["questions"]]


def test_timed_labs_grade_the_same_alone_beside_a_cpu_hog_and_with_two_workers(graded: dict, tmp_path) -> None:
    """Timing checks judge modelled seconds, which no load can move: the labs that time calls get the
    same verdicts graded alone, beside two processes that keep both cores busy, and in the
    two-worker class run above."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for path in TIMED:
        shutil.copy(path, subs / f"solution-{path.stem}.ipynb")

    def grade(out: str) -> dict:
        result = classroom.grade_class([subs], out=tmp_path / out, workers=1, progress=False,
                                       settings=Settings(cell_timeout=120))
        return {rec["student"]: rec for rec in result.records}

    alone = grade("alone")
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        loaded = grade("loaded")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    for path in TIMED:
        student = f"solution-{path.stem}"
        assert alone[student]["score"] == alone[student]["max_score"], _explain(alone[student])
        assert _verdicts(alone[student]) == _verdicts(loaded[student]) == _verdicts(graded[student])
