"""Known-wrong and hostile lab-00 submissions get exactly their golden scores, and cannot harm the grader.

The submissions are generated from the solved lab by tests/grading_submissions/make.py; their
expected scores are in tests/grading_submissions/expected.json. All of them are graded once, in one
class run with two workers and short time limits (a module-scoped fixture): about 30 s.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nbformat
import pytest
from grading_submissions import make  # noqa: I001 - tests/grading_submissions/make.py; pytest puts tests/ on sys.path

from labkit.config import find_root
from labkit.grading import classroom, feedback, isolation
from labkit.grading.execute import Settings

ROOT = find_root()
HERE = Path(__file__).parent / "grading_submissions"
EXPECTED = {k: v for k, v in json.loads((HERE / "expected.json").read_text()).items() if not k.startswith("_")}
SECRET = "sk-ant-" + "test-secret-that-no-kernel-may-see"  # built at run time: no key-shaped literal in the repo
PROTECTED = [ROOT / "instructor" / "hidden" / "lab00.py", ROOT / "labs" / "00_start_here_lab.ipynb",
             ROOT / "src" / "labkit" / "checks" / "lab00.py"]
FULL_SANDBOX = isolation.probe(ROOT).namespaces
PWNED = Path("/tmp/labkit-grading-pwned")  # where the escape case tries to write on the host
needs_sandbox = pytest.mark.skipif(not FULL_SANDBOX, reason="the full sandbox needs root and namespaces")



def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    subs, out = tmp_path_factory.mktemp("submissions"), tmp_path_factory.mktemp("graded")
    make.write_cases(subs)
    PWNED.unlink(missing_ok=True)  # a run without the full sandbox (where this test skips) may leave it
    before = {path: digest(path) for path in PROTECTED}
    with pytest.MonkeyPatch.context() as mp:  # the worker processes (and so the kernels) inherit these
        mp.setenv("ANTHROPIC_API_KEY", SECRET)
        mp.setenv("LABKIT_TEST_SECRET_TOKEN", SECRET)
        result = classroom.grade_class([subs], out=out, workers=2, lab="00", progress=False,
                                       settings=Settings(cell_timeout=5, notebook_timeout=120))
    records = {rec["student"]: rec for rec in result.records}
    return {"records": records, "out": out, "before": before, "result": result}


def executed(graded: dict, case: str) -> nbformat.NotebookNode:
    return nbformat.read(graded["out"] / "executed" / case / f"{case}.ipynb", as_version=4)


def stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.get("output_type") == "stream")


@pytest.mark.parametrize("case", list(EXPECTED))
def test_each_submission_gets_its_golden_scores(graded: dict, case: str) -> None:
    rec, expected = graded["records"][case], EXPECTED[case]
    got = {q["question"]: [q["score"], q["status"]] for q in rec["questions"]}
    assert got == expected["questions"], (expected["why"], rec["execution"], rec["checks"])
    assert rec["score"] == expected["total"] and rec["max_score"] == 7
    assert rec["status"] == "graded"
    for flag in expected.get("flags", []):
        assert any(flag in f for f in rec["flags"]), (flag, rec["flags"])


def test_a_failing_question_does_not_stop_the_others(graded: dict) -> None:
    rec = graded["records"]["runtime_hostile"]
    assert rec["execution"]["attempts"] == EXPECTED["runtime_hostile"]["attempts"]
    statuses = {cell["status"] for cell in rec["execution"]["cells"]}
    assert {"timeout", "stopped the kernel", "error"} <= statuses
    assert rec["questions"][2]["score"] == 3


def test_output_floods_are_cut(graded: dict) -> None:
    rec = graded["records"]["runtime_hostile"]
    assert rec["execution"]["dropped_output_bytes"] > 20_000_000
    path = graded["out"] / "executed" / "runtime_hostile" / "runtime_hostile.ipynb"
    assert path.stat().st_size < 2_000_000


def test_the_passed_field_and_printed_lines_of_a_forgery_are_ignored(graded: dict) -> None:
    nb = executed(graded, "forged")
    payloads = [o["data"]["application/vnd.labkit.check+json"] for c in nb.cells if c.cell_type == "code"
                for o in c.outputs if "application/vnd.labkit.check+json" in o.get("data", {})]
    assert payloads and all(p["passed"] for p in payloads)  # the kernel claimed every check passed
    assert "Score: 7/7" in stdout(nb)
    checks = {c["id"]: c for c in graded["records"]["forged"]["checks"]}
    assert not checks["00.q1"]["passed"] and checks["00.q1"]["context"] == "trusted"
    assert not checks["00.q3"]["passed"] and checks["00.q3"]["context"] == "trusted"
    assert not checks["00.q3:timed_the_review_calls"]["passed"]


@needs_sandbox
def test_escape_attempts_are_all_blocked(graded: dict) -> None:
    text = stdout(executed(graded, "escape"))
    assert "escape attempts done" in text
    assert "LEAKED" not in text, text
    for what in ("read hidden checks", "read the solution", "list the course", "overwrite a check",
                 "delete the released lab", "network", "secrets in the environment", "see the machine's processes",
                 "use the grader's descriptors", "fill the disk"):
        assert f"blocked: {what}" in text


def test_the_graders_files_are_untouched(graded: dict) -> None:
    assert {path: digest(path) for path in PROTECTED} == graded["before"]


def test_no_secret_reaches_a_kernel(graded: dict) -> None:
    for path in (graded["out"] / "executed").rglob("*.ipynb"):
        assert SECRET not in path.read_text()


@needs_sandbox
def test_nothing_a_student_started_outlives_grading(graded: dict) -> None:
    leftovers = []  # the escape submission started `sleep 600` in a session of its own
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes().split(b"\0")
            uid = int(next(line for line in (process / "status").read_text().splitlines()
                           if line.startswith("Uid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            continue
        if command[:2] == [b"sleep", b"600"] and isolation.UID_BASE <= uid < isolation.UID_BASE + isolation.UID_COUNT:
            leftovers.append(process.name)
    assert not leftovers
    assert not PWNED.exists()


def test_feedback_never_reveals_hidden_checks(graded: dict) -> None:
    for rec in graded["records"].values():
        text = feedback.markdown(rec) + feedback.html_page(rec)
        for check in rec["checks"]:
            if check["kind"] == "hidden" and check["visibility"] != "always":
                assert check["description"] not in text
                if check["message"]:
                    assert check["message"] not in text


def test_records_say_how_to_reproduce_the_grade(graded: dict) -> None:
    rec = graded["records"]["wrong_answers"]
    reproduce = rec["reproduce"]
    assert reproduce["seed"] == 0 and reproduce["backend"] == "sim"
    assert reproduce["parameters"]["MODEL"] == "claude-haiku-5-5"
    assert set(reproduce["versions"]) >= {"labkit", "anthropic", "papermill", "python"}
    assert reproduce["instructor_module"]["file"] == "lab00.py"
    assert len(rec["notebook_sha256"]) == 64 and rec["started"] <= rec["finished"]
    for check in rec["checks"]:
        assert set(check) >= {"question", "id", "points", "max_points", "passed", "message", "visibility", "duration"}


def test_os_environment_of_the_test_is_restored() -> None:
    assert os.environ.get("LABKIT_TEST_SECRET_TOKEN") is None
