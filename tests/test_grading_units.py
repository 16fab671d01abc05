"""The grader's parts, without kernels: environment, output budget, submissions, instructor modules,
answer rules, feedback visibility, gradebook, the sandbox launcher and the evaluator process."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest

from labkit.checks import CHECK_MIME, Verdict
from labkit.config import find_root
from labkit.grading import evaluate, feedback, hidden, isolation, results, sandbox, submission
from labkit.grading import evaluator as evaluator_process
from labkit.grading.execute import OK, CellRun, Execution, OutputBudget, OutputCaps, Settings

ROOT = find_root()


# --------------------------------------------------------------------------- environment and limits


def test_student_environment_drops_secrets_and_inherited_settings(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "ANTHROPIC_API_KEY": "sk", "GITHUB_TOKEN": "t",
            "DB_PASSWORD": "p", "MY_SECRET": "s", "aws_secret_access_key": "k", "LABKIT_BACKEND": "live",
            "LABKIT_ROOT": "/elsewhere", "PYTHONPATH": "/evil", "JUPYTER_PATH": "/evil"}
    env = isolation.student_environment(base, home=tmp_path, seed=3, time_scale=0.5)
    assert env["PATH"] == "/usr/bin" and env["LANG"] == "C.UTF-8"
    for name in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "MY_SECRET", "aws_secret_access_key",
                 "LABKIT_ROOT", "PYTHONPATH", "JUPYTER_PATH"):
        assert name not in env
    assert env["LABKIT_BACKEND"] == "sim" and env["LABKIT_SEED"] == "3" and env["LABKIT_TIME_SCALE"] == "0.5"
    assert env["HOME"] == str(tmp_path) and env["PYTHONHASHSEED"] == "0"


def test_limits_become_rlimits() -> None:
    limits = isolation.Limits(memory_mb=512, cpu_seconds=9, file_mb=1, processes=7, open_files=64)
    assert limits.rlimits() == {"as": 512 * 2**20, "cpu": 9, "fsize": 2**20, "nproc": 7, "nofile": 64, "core": 0}


def test_without_an_own_uid_the_process_limit_is_not_set(tmp_path: Path) -> None:
    """RLIMIT_NPROC counts every process of the uid: as the grader's own user it would starve its kernel."""
    for protection, expected in ((isolation.Protection(False, False), False), (isolation.Protection(True, True), True)):
        spec = isolation.write_spec(tmp_path, protection=protection, uid=62999, workdir=tmp_path / "w",
                                    course_root=ROOT, env={}, limits=isolation.Limits())
        data = json.loads(spec.read_text())
        assert ("nproc" in data["limits"]) is expected and data["limits"]["core"] == 0
        bound = [data["wrapper"][i + 1] for i, arg in enumerate(data["wrapper"]) if arg == "--ro-bind"]
        assert str(ROOT / "instructor") not in bound and (str(ROOT / "src") in bound) is protection.namespaces


def test_settings_are_json_for_the_record() -> None:
    json.dumps(Settings().as_dict())


def test_the_sandbox_can_be_turned_off() -> None:
    protection = isolation.probe(ROOT, allow=False)
    assert not protection.namespaces and not protection.own_user and "--no-sandbox" in protection.note


def test_the_launcher_refuses_bad_specs(tmp_path: Path) -> None:
    launcher = [sys.executable, "-I", str(isolation.LAUNCHER)]
    assert subprocess.run(launcher, capture_output=True).returncode == sandbox.EXIT_SETUP
    bad = tmp_path / "spec.json"
    bad.write_text("{not json")
    result = subprocess.run(launcher + [str(bad), "--", "true"], capture_output=True, text=True)
    assert result.returncode == sandbox.EXIT_SETUP and "labkit sandbox:" in result.stderr
    assert not bad.exists(), "the spec is deleted once read"


def test_nested_readonly_paths_are_bound_once() -> None:
    assert isolation._outermost(["/a/b", "/a", "/c/d", "/ab"]) == ["/a", "/ab", "/c/d"]


# --------------------------------------------------------------------------- output budget


def _stream(text: str) -> dict:
    return {"msg_type": "stream", "content": {"name": "stdout", "text": text}}


def _display(data: dict) -> dict:
    return {"msg_type": "display_data", "content": {"data": data, "metadata": {}}}


def test_long_outputs_are_cut_and_counted() -> None:
    budget = OutputBudget(OutputCaps(output_kb=1))
    text = budget.admit(_stream("x" * 5000), 0)["content"]["text"]
    assert text.startswith("x" * 1024) and "characters cut" in text and len(text) < 1200
    assert budget.dropped == 5000 - 1024


def test_past_the_notebook_cap_output_is_dropped_with_one_note_per_cell() -> None:
    budget = OutputBudget(OutputCaps(output_kb=1024, notebook_mb=1))
    assert budget.admit(_stream("x" * 2**20), 0) is not None
    note = budget.admit(_stream("more"), 0)
    assert note["content"]["name"] == "stderr" and "dropped" in note["content"]["text"]
    assert budget.admit(_stream("more"), 0) is None
    status = {"msg_type": "status", "content": {"execution_state": "idle"}}
    assert budget.admit(status, 0) is status


def test_check_outputs_have_their_own_allowance() -> None:
    budget = OutputBudget(OutputCaps(notebook_mb=1, check_kb=1, checks=2))
    budget.admit(_stream("x" * 2**20), 0)  # the notebook's allowance is spent
    small = budget.admit(_display({CHECK_MIME: {"question": "00.q1", "answer": 1}, "text/plain": "✔"}), 1)
    assert CHECK_MIME in small["content"]["data"]
    big = budget.admit(_display({CHECK_MIME: {"question": "00.q2", "answer": "y" * 5000}}), 1)
    assert CHECK_MIME not in big["content"]["data"]
    third = budget.admit(_display({CHECK_MIME: {"question": "00.q3", "answer": 1}}), 1)
    assert CHECK_MIME not in third["content"]["data"]


def test_tracebacks_are_trimmed() -> None:
    budget = OutputBudget(OutputCaps(traceback_lines=10))
    traceback = [f"line {i}" for i in range(500)]
    msg = {"msg_type": "error", "content": {"ename": "E", "evalue": "v", "traceback": traceback}}
    assert len(budget.admit(msg, 0)["content"]["traceback"]) == 11


# --------------------------------------------------------------------------- submissions


def _notebook(*sources: str, tags: dict | None = None) -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_code_cell(src) for src in sources]
    for index, cell_tags in (tags or {}).items():
        cells[index].metadata["tags"] = cell_tags
    return nbformat.v4.new_notebook(cells=cells)


def test_discover_reads_both_layouts(tmp_path: Path) -> None:
    (tmp_path / "Ana María.ipynb").write_text("{}")
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "00_lab.ipynb").write_text("{}")
    (tmp_path / "bob" / "01_lab.ipynb").write_text("{}")
    found = submission.discover([tmp_path])
    assert [(s.student, s.path.name) for s in found] == [("Ana_Mar_a", "Ana María.ipynb"), ("bob", "00_lab.ipynb"),
                                                         ("bob", "01_lab.ipynb")]


@pytest.mark.parametrize("path, message", [("missing/", "no such submission"), ("README.md", "not a notebook")])
def test_discover_refuses_bad_paths(path: str, message: str) -> None:
    with pytest.raises(submission.SubmissionError, match=message):
        submission.discover([ROOT / path if path == "README.md" else path])


def test_which_lab_a_notebook_answers() -> None:
    assert submission.detect_lab(_notebook('labkit.check("02.q1", x)', "labkit.check('02.q2', y)"), "a.ipynb") == "02"
    assert submission.detect_lab(_notebook("print(1)"), "03_parallel_lab.ipynb") == "03"
    assert submission.detect_lab(_notebook("print(1)"), "mine.ipynb") is None
    assert submission.questions_in(_notebook('forged_check("00.q1", 1)', 'check("00.q2", 2)')) == ["00.q2"]


def test_unreadable_submissions_say_why() -> None:
    with pytest.raises(submission.SubmissionError, match="not a readable notebook"):
        submission.read(b"\xff\xfe not json")
    with pytest.raises(submission.SubmissionError, match="larger than"):
        submission.read(b" " * (submission.MAX_SUBMISSION_BYTES + 1))


def test_sanitise_drops_everything_the_student_brought_but_code() -> None:
    lab = submission.released_lab(ROOT, "00")
    nb = _notebook("SEED = 5", "print(1)", tags={0: ["raises-exception"], 1: ["skip-execution", "parameters"]})
    nb.cells[0].id = lab.parameters_cell_id
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="forged")]
    nb.cells[1].execution_count = 3
    nb.metadata["kernelspec"] = {"name": "evil", "display_name": "evil", "language": "python"}
    clean = submission.sanitise(nb, lab)
    assert clean.cells[0].metadata["tags"] == ["parameters"]  # found by its id although the tag was removed
    assert clean.cells[1].metadata["tags"] == [] and clean.cells[1].outputs == []
    assert clean.cells[1].execution_count is None and clean.metadata["kernelspec"]["name"] == "python3"


def test_the_released_lab_gives_questions_parameters_and_constants() -> None:
    lab = submission.released_lab(ROOT, "00")
    assert lab.questions == ("00.q1", "00.q2", "00.q3")
    assert lab.parameters == {"BACKEND": None, "SEED": 0, "TIME_SCALE": 0.01, "MODEL": "claude-haiku-5-5"}
    assert lab.constants["CONCISE"].startswith("Outline: halting problem")
    injected = submission.injected_parameters(lab, seed=4, time_scale=0.02)
    assert injected == {"BACKEND": "sim", "SEED": 4, "TIME_SCALE": 0.02, "MODEL": "claude-haiku-5-5"}
    with pytest.raises(submission.SubmissionError, match="no single released lab 77"):
        submission.released_lab(ROOT, "77")


def test_literal_assignments_run_no_code() -> None:
    source = "A = 1\nB = ('x' 'y')\nC = open('/etc/passwd').read()\nD = [1, {'k': None}]\nE, F = 1, 2"
    assert submission.literal_assignments(source) == {"A": 1, "B": "xy", "D": [1, {"k": None}]}
    assert submission.literal_assignments("def (") == {}


# --------------------------------------------------------------------------- instructor modules

GOOD = '''
from labkit.grading.hidden import context, hidden

@context("00.q1")
def trusted(given):
    return {"x": 1}

@hidden("00.q1", message="is one", points=2, visibility="always")
def is_one(answer, given):
    return answer == 1

def prepare(given):
    pass
'''


def test_an_instructor_module_declares_checks_contexts_and_prepare() -> None:
    module = hidden.load("00", GOOD, "lab00.py")
    assert [(c.id, c.points, c.visibility) for c in module.checks] == [("00.q1:is_one", 2.0, "always")]
    assert set(module.contexts) == {"00.q1"} and module.prepare is not None
    assert module.digest != hidden.load("00", GOOD + "\n", "lab00.py").digest
    module.validate(["00.q1", "00.q2"])
    assert hidden.load("00", "", "").digest == "none"


@pytest.mark.parametrize("source, message", [
    (GOOD.replace('visibility="always"', 'visibility="later"'), "visibility must be one of"),
    (GOOD.replace("points=2", "points=-1"), "points must be a number"),
    (GOOD.replace('message="is one", ', 'message="", '), "give a message"),
    (GOOD.replace('@hidden("00.q1"', '@hidden("01.q1"'), "not lab 00"),
    ("import not_a_module_anywhere", "does not load: ModuleNotFoundError"),
])
def test_a_malformed_instructor_module_is_refused_clearly(source: str, message: str) -> None:
    with pytest.raises(hidden.InstructorError, match=message):
        hidden.load("00", source, "lab00.py")


def test_an_instructor_module_must_name_real_questions() -> None:
    with pytest.raises(hidden.InstructorError, match="'00.q1' is not a graded question of lab 00"):
        hidden.load("00", GOOD, "lab00.py").validate(["00.q2"])


def test_a_lab_without_an_instructor_module_has_no_hidden_checks(tmp_path: Path) -> None:
    assert hidden.read(tmp_path, "00") == ("", "")
    assert hidden.read(None, "00") == ("", "")


def test_numbers_for_hidden_checks() -> None:
    assert hidden.isclose(0.1 + 0.2, 0.3) and not hidden.isclose(True, 1.0) and not hidden.isclose("0.3", 0.3)
    assert not hidden.is_number(float("nan")) and hidden.is_number(3)


# --------------------------------------------------------------------------- answers and scoring


def _output(question: str, answer, **extra) -> nbformat.NotebookNode:
    payload = {"question": question, "passed": True, "message": "", "answer": answer, "context": {}, **extra}
    return nbformat.v4.new_output("display_data", data={CHECK_MIME: payload, "text/plain": "✔"})


class StubEvaluator:
    """The evaluator process's own logic, run here, with a visible check that passes when the answer is 1."""

    def __init__(self) -> None:
        self.asked: list = []
        self.modules: dict = {}

    def evaluate(self, request):
        def visible(question, answer, **context):
            self.asked.append((question, answer, dict(context)))
            return Verdict(answer == 1, "ok" if answer == 1 else "no")

        with mock.patch("labkit.checks.evaluate", visible):
            return evaluator_process.answer(request, self.modules)


def _execution(nb: nbformat.NotebookNode, status: dict | None = None) -> Execution:
    cells = {i: CellRun(i, i + 1, (status or {}).get(i, OK), 0.1, "raised E" if (status or {}).get(i) else "")
             for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    return Execution(nb, cells, 1, 1.0)


def _lab(*questions: str) -> submission.ReleasedLab:
    return submission.ReleasedLab("00", ROOT / "labs" / "x.ipynb", questions, {}, {})


def _score(nb, status=None, source=GOOD, questions=("00.q1",)):
    stub = StubEvaluator()
    outcomes, problems = evaluate.score(_execution(nb, status), _lab(*questions), hidden.load("00", source, "lab00.py"),
                                        stub, seed=0, parameters={}, data_dir=ROOT / "data")
    return outcomes, problems, stub


def test_the_last_check_output_counts_and_duplicates_are_flagged() -> None:
    nb = _notebook('labkit.check("00.q1", a)', "print()")
    nb.cells[0].outputs = [_output("00.q1", 1)]
    nb.cells[1].outputs = [_output("00.q1", 2)]
    (outcome,), _, stub = _score(nb)
    assert stub.asked == [("00.q1", 2, {"x": 1})]  # the trusted context replaced the exported one
    assert outcome.score == 0 and len(outcome.flags) == 2


def test_visible_and_hidden_points_add_up() -> None:
    nb = _notebook('labkit.check("00.q1", a)')
    nb.cells[0].outputs = [_output("00.q1", 1)]
    (outcome,), problems, _ = _score(nb)
    assert (outcome.score, outcome.max_points, outcome.status, problems) == (3.0, 3.0, "answered", [])


def test_a_cell_that_failed_scores_zero_whatever_it_showed() -> None:
    nb = _notebook('labkit.check("00.q1", a)')
    nb.cells[0].outputs = [_output("00.q1", 1)]
    (outcome,), _, stub = _score(nb, status={0: "error"})
    assert outcome.score == 0 and outcome.status == "error" and "raised E" in outcome.detail and not stub.asked


@pytest.mark.parametrize("sources, outputs, detail", [
    (['labkit.check("00.q1", a)'], [], "ran but showed no check result"),
    (["print(1)"], [], 'never calls labkit.check("00.q1"'),
    (['labkit.check("00.q1", a)'], [("00.q1", None)], "not answered yet"),
])
def test_missing_answers_score_zero_with_the_reason(sources, outputs, detail) -> None:
    nb = _notebook(*sources)
    nb.cells[0].outputs = [_output(q, a) for q, a in outputs]
    (outcome,), _, _ = _score(nb)
    assert outcome.score == 0 and outcome.status == "not answered" and detail in outcome.detail
    assert all(check.max_points > 0 for check in outcome.checks)


def test_a_broken_trusted_context_is_the_graders_problem_not_the_students() -> None:
    nb = _notebook('labkit.check("00.q1", a)')
    nb.cells[0].outputs = [_output("00.q1", 1)]
    broken = GOOD.replace('return {"x": 1}', "raise ValueError('instructor bug')")
    (outcome,), problems, stub = _score(nb, source=broken)
    assert problems and "instructor bug" in problems[0] and not stub.asked
    assert "could not check this question" in outcome.checks[0].message


def test_a_hidden_check_that_cannot_handle_an_answer_fails_it() -> None:
    nb = _notebook('labkit.check("00.q1", a)')
    nb.cells[0].outputs = [_output("00.q1", [1])]
    source = GOOD.replace("return answer == 1", "return answer + 1 == 2")
    (outcome,), _, _ = _score(nb, source=source)
    assert "could not check this answer (TypeError)" in outcome.checks[1].message


# --------------------------------------------------------------------------- feedback and gradebook


def _record(**changes) -> dict:
    checks = [
        {"question": "00.q1", "id": "00.q1", "kind": "visible", "points": 1, "max_points": 1, "passed": True,
         "message": "well priced", "visibility": "always", "description": "", "duration": 0, "context": "trusted"},
        {"question": "00.q1", "id": "00.q1:a", "kind": "hidden", "points": 0, "max_points": 1, "passed": False,
         "message": "ALWAYS-MESSAGE", "visibility": "always", "description": "ALWAYS-DESCRIPTION", "duration": 0},
        {"question": "00.q1", "id": "00.q1:b", "kind": "hidden", "points": 1, "max_points": 1, "passed": True,
         "message": "LATER-MESSAGE", "visibility": "after_deadline", "description": "LATER-DESCRIPTION", "duration": 0},
        {"question": "00.q1", "id": "00.q1:c", "kind": "hidden", "points": 0, "max_points": 1, "passed": False,
         "message": "NEVER-MESSAGE", "visibility": "never", "description": "NEVER-DESCRIPTION", "duration": 0},
    ]
    rec = {"student": "ann", "lab": "00", "status": "graded", "error": "", "score": 2, "max_score": 4,
           "questions": [{"question": "00.q1", "status": "answered", "detail": "", "score": 2, "max_points": 4}],
           "checks": checks, "flags": [], "reproduce": {"seed": 0}, "finished": "today",
           "execution": {"cells": [{"number": 3, "status": "error", "error": "raised X: <script>", "source": "x = 1"}]}}
    rec.update(changes)
    return rec


@pytest.mark.parametrize("render", [feedback.markdown, feedback.html_page])
def test_feedback_applies_each_visibility(render) -> None:
    before, after = render(_record()), render(_record(), after_deadline=True)
    assert "ALWAYS-DESCRIPTION" in before and "ALWAYS-MESSAGE" in before
    assert "LATER-DESCRIPTION" not in before and "LATER-MESSAGE" not in before
    assert "LATER-DESCRIPTION" in after and "LATER-MESSAGE" in after
    for text in (before, after):
        assert "NEVER-DESCRIPTION" not in text and "NEVER-MESSAGE" not in text
        assert "hidden check (0/1): failed" in text
        assert "2 / 4" in text and "well priced" in text
        assert "<script>" not in text


def test_feedback_on_a_submission_that_could_not_be_graded() -> None:
    text = feedback.markdown(_record(status="error", error="the grader could not start a kernel"))
    assert "could not be graded automatically: the grader could not start a kernel" in text


def test_the_gradebook_has_one_row_per_student_across_labs() -> None:
    def rec(student, lab, scores, status="graded"):
        return {"student": student, "lab": lab, "status": status, "error": "boom", "flags": [],
                "score": sum(scores.values()), "max_score": 2 * len(scores),
                "questions": [{"question": q, "score": s} for q, s in scores.items()]}

    text = results.gradebook([rec("bo", "01", {"01.q10": 1, "01.q2": 2}), rec("bo", "00", {"00.q1": 0.5}),
                              rec("al", "00", {"00.q1": 2}, status="error")])
    lines = text.splitlines()
    assert lines[0] == "student,00.q1,01.q2,01.q10,total,max,notes"
    assert lines[1] == "al,2,,,2,2,lab 00: not graded (boom)"
    assert lines[2] == "bo,0.5,2,1,3.5,6,"


def test_the_grader_id_changes_with_what_computes_a_grade() -> None:
    base = results.grader_id("abc", Settings().as_dict())
    assert base == results.grader_id("abc", Settings().as_dict())
    assert base != results.grader_id("abd", Settings().as_dict())
    assert base != results.grader_id("abc", dataclasses.replace(Settings(), seed=1).as_dict())


# --------------------------------------------------------------------------- the evaluator process


@pytest.fixture(scope="module")
def evaluator():
    ev = evaluate.Evaluator(ROOT, isolation.probe(ROOT), timeout=20)
    yield ev
    ev.close()


def ask(evaluator, question, answer, context, *, source="", cpu=10.0) -> dict:
    """One question's checks in the evaluator process (with `source` as the instructor module)."""
    return evaluator.evaluate({
        "question": question, "answer": answer, "exported": context, "lab": question.split(".")[0],
        "instructor_digest": hidden.load("00", source).digest if source else "none",
        "instructor_source": source, "instructor_file": "lab.py", "seed": 0, "parameters": {},
        "constants": {}, "data_dir": str(ROOT / "data"), "cpu_seconds": cpu})


def test_the_evaluator_reruns_public_checks_out_of_the_kernel(evaluator) -> None:
    context = {"verbose": "one two three four", "concise": "one", "model": "claude-haiku-5-5"}
    reply = ask(evaluator, "00.q2", 0.1, context)["visible"]
    assert reply["passed"] is False and "compare" in reply["message"]
    unknown = ask(evaluator, "99.q9", 1, {})["visible"]
    assert unknown["passed"] is False and "could not check" in unknown["message"]


def test_a_check_that_uses_up_its_cpu_budget_fails_and_the_evaluator_recovers(evaluator) -> None:
    slow = ask(evaluator, "01.q1", 1, {"root": "/", "model": "claude-haiku-5-5"}, cpu=0.5)["visible"]  # walks /
    assert slow["passed"] is False and "did not finish within 0.5 s of CPU time" in slow["message"]
    assert ask(evaluator, "99.q9", 1, {})["visible"]["message"].startswith("could not check")


RUNAWAY = """
from labkit.grading.hidden import hidden

@hidden("00.q1", points=1, message="spins")
def spins(answer, given):
    try:
        while True:
            pass
    except Exception:
        return True  # a check cannot swallow the CPU budget

@hidden("00.q1", points=1, message="is fine")
def fine(answer, given):
    return answer == 1
"""


def test_hidden_checks_run_in_the_evaluator_each_within_its_cpu_budget(evaluator) -> None:
    reply = ask(evaluator, "00.q1", 1, {}, source=RUNAWAY, cpu=0.3)
    verdicts = {item["id"]: (item["passed"], item["message"]) for item in reply["hidden"]}
    assert verdicts["00.q1:spins"] == (False, "the check did not finish within 0.3 s of CPU time")
    assert verdicts["00.q1:fine"] == (True, "")


def test_an_evaluator_that_dies_costs_that_question_only(evaluator) -> None:
    dies = RUNAWAY.replace("    try:\n        while True:\n            pass\n    except Exception:\n        return True",
                           "    import os\n    os._exit(3)")
    reply = ask(evaluator, "00.q1", 1, {}, source=dies)
    assert "stopped the checker" in reply["failure"]
    assert ask(evaluator, "00.q1", 1, {}, source=RUNAWAY.replace("while True", "while False"))["hidden"][1]["passed"]


@pytest.mark.skipif(not isolation.probe(ROOT).namespaces, reason="needs root and namespaces")
def test_the_evaluator_cannot_read_instructor_files(evaluator) -> None:
    # 01.q1 counts the files under `root`: a forged context pointing at instructor/ finds nothing there.
    reply = ask(evaluator, "01.q1", 1, {"root": str(ROOT / "instructor"), "model": "claude-haiku-5-5"})["visible"]
    assert reply["passed"] is False and "lab00" not in reply["message"]


def test_a_kernel_that_cannot_start_is_reported_as_the_graders_problem() -> None:
    """60 MB of address space is too little for Python: nothing runs, and the reason is kept."""
    from labkit.grading import execute

    nb = nbformat.read(ROOT / "labs" / "00_start_here_lab.ipynb", as_version=4)
    settings = Settings(limits=isolation.Limits(memory_mb=60), start_timeout=20)
    result = execute.execute(submission.sanitise(nb, None), {"BACKEND": "sim"}, settings, ROOT, isolation.probe(ROOT))
    assert not result.started and result.attempts == 1
    assert result.problem.startswith("the grader could not start a kernel")
