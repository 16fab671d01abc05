"""Attacks on the grader that once cost honest students marks or a whole class, each reproduced.

One class run grades every case below (a module-scoped fixture, two workers). Each test states the
attack and asserts the sound outcome: an honest submission keeps full marks, a hostile one harms
only itself, and nothing a submission contains runs or renders in the instructor's outputs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import shutil
import time
from pathlib import Path

import mistune
import nbformat
import pytest
from grading_submissions import make  # noqa: I001 - tests/grading_submissions/make.py; pytest puts tests/ on sys.path

from labkit.config import find_root
from labkit.grading import classroom, feedback, isolation
from labkit.grading.execute import Settings

ROOT = find_root()
HERE = Path(__file__).parent / "grading_submissions"
SOLUTION_00 = ROOT / "solutions" / "00_start_here_lab.ipynb"
SOLUTION_04 = ROOT / "solutions" / "04_cache_system_lab.ipynb"
SETTINGS = Settings(cell_timeout=20, notebook_timeout=180, check_cpu_seconds=20)


# 501 lines: one over the per-cell output cap, printed by an honest solution's check cell.
CHATTY = "for step in range(501):\n    print(f'progress {step}', flush=True)\n"
# A billion-laughs document: 650 bytes that a plain safe_load expands to gigabytes.
BOMB = ("design = '''\n" + "a: &a [x,x,x,x,x,x,x,x,x]\n"
        + "".join(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
        + "cache_layers: [*i]\n'''\n")
ACTIVE = ('from IPython.display import HTML, SVG, Javascript, display\n'
          'display(HTML("<script>alert(1)</script><b>hi</b>"))\n'
          'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(2)"></svg>\'))\n'
          'display(Javascript("alert(3)"))\n')
PHISHING = 'raise ValueError("<img src=https://tracker.example/p.png> [log in here](https://phish.example)")'
LAB_01 = ROOT / "labs" / "01_context_window_lab.ipynb"
LAB_04 = ROOT / "labs" / "04_cache_system_lab.ipynb"
# Blank labs whose check cells export invented inputs, with answers that fit them: each passes its
# visible check on those inputs (asserted below), so only recomputed contexts can refuse them.
_LAYERS = [{"layer": "memory", "namespace": "api_responses", "hits": 2, "misses": 2, "hit_rate": 0.5},
           {"layer": "disk", "namespace": "api_responses", "hits": 1, "misses": 1, "hit_rate": 0.5}]
_SPACES = ("api_responses", "research_content", "script_templates")
FABRICATED_04 = {
    "04.q2": ({"memory": 0.5, "disk": 0.25, "api": 0.25}, {"rows": _LAYERS, "namespace": "api_responses"}),
    "04.q3": (dict.fromkeys(_SPACES, 1), {"written": dict.fromkeys(_SPACES, [0.0]), "ttl": dict.fromkeys(_SPACES, 60),
                                          "at_hour": 30}),
    "04.q4": (0.9, {"hits": 9, "lookups": 10, "mapping": {"a": "a"}, "truth": {"a": "a"}}),
    "04.q5": ({"stable": 0.0, "timestamp": 0.0}, {"usages": {"stable": [], "timestamp": []},
                                                  "model": "claude-haiku-5-5"}),
}


def fabricated_01_q3() -> tuple[dict, dict]:
    """Real rules and their real token saving, with invented timings claiming the guide's "20% faster"
    (these rules really save about 80% of the load time: far outside the grader's tolerance)."""
    from labkit import context

    root, rules_text = context.sample_project(seed=0).root, "**/*.wav\n**/node_modules/"
    after = context.load(root, context.parse_rules(rules_text), model="claude-haiku-5-5").tokens
    saved = 1 - after / context.load(root, model="claude-haiku-5-5").tokens
    return ({"tokens": saved, "load_time": 0.2},
            {"rules_text": rules_text, "model": "claude-haiku-5-5", "before_seconds": [1.0] * 5,
             "after_seconds": [0.8] * 5})


def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _prefix(nb: nbformat.NotebookNode, question: str, code: str) -> nbformat.NotebookNode:
    cell = nb.cells[make.check_cell(nb, question)]
    cell.source = code + cell.source
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    subs, out = tmp_path_factory.mktemp("subs"), tmp_path_factory.mktemp("graded")
    honest = make.solved()
    _write(make.solved(), subs / "honest.ipynb")
    chatty = make.solved()
    for question in ("00.q1", "00.q2", "00.q3"):
        _prefix(chatty, question, CHATTY)
    _write(chatty, subs / "chatty.ipynb")
    own = make.solved()
    own.cells.insert(0, nbformat.v4.new_markdown_cell("SEED = 99", metadata={"tags": ["parameters"]}))
    own.cells.insert(len(own.cells) // 3, nbformat.v4.new_code_cell(
        "SEED, TIME_SCALE = 99, 0.5\ncfg = labkit.configure(backend='sim', seed=SEED, time_scale=TIME_SCALE)"))
    _write(own, subs / "own_parameters.ipynb")
    bomb = make.solved(SOLUTION_04)
    cell = bomb.cells[make.check_cell(bomb, "04.q1")]
    cell.source = BOMB + 'labkit.check("04.q1", design)'
    _write(bomb, subs / "yaml_bomb.ipynb")
    _write(make.solved(SOLUTION_04), subs / "honest_04.ipynb")
    active = make.solved()
    active.cells.append(nbformat.v4.new_code_cell(ACTIVE))
    active.cells.append(nbformat.v4.new_code_cell(PHISHING))
    _write(active, subs / "active.ipynb")
    (subs / "linked.ipynb").symlink_to(SOLUTION_00)
    (subs / "copycat.ipynb").symlink_to("honest.ipynb")
    twice = subs / "twice"
    _write(make.solved(), twice / "00_first.ipynb")
    os.utime(twice / "00_first.ipynb", (time.time() - 3600,) * 2)
    _write(make.solved(), twice / "00_second.ipynb")
    _write(honest, subs / "same_as_honest" / "00_start_here_lab.ipynb")
    _write(make.solved(), subs / "name clash.ipynb")
    _write(make.solved(), subs / "name_clash.ipynb")
    _write(make.solved(), subs / "-1-1" / "00_start_here_lab.ipynb")
    _write(make.solved(), subs / "@SUM" / "00_start_here_lab.ipynb")
    blank_04 = nbformat.read(LAB_04, as_version=4)
    for question, (answer, context) in FABRICATED_04.items():
        blank_04.cells[make.check_cell(blank_04, question)].source = _fabricated_check(question, answer, context)
    _write(blank_04, subs / "fabricated" / "04_cache_system_lab.ipynb")
    blank_01 = nbformat.read(LAB_01, as_version=4)
    answer, context = fabricated_01_q3()
    blank_01.cells[make.check_cell(blank_01, "01.q3")].source = _fabricated_check(
        "01.q3", answer, context, "root=str(ROOT)")
    _write(blank_01, subs / "fabricated" / "01_context_window_lab.ipynb")
    result = classroom.grade_class([subs], out=out, workers=2, progress=False, settings=SETTINGS)
    records = {}
    for rec in result.records:
        records.setdefault(rec["student"], []).append(rec)
    return {"records": records, "out": out, "result": result}


def _fabricated_check(question: str, answer: object, context: dict, *extra: str) -> str:
    arguments = ", ".join([*extra, *(f"{name}={value!r}" for name, value in context.items())])
    return f"labkit.check({question!r}, {answer!r}, {arguments})"


def one(graded: dict, student: str, lab: str | None = None) -> dict:
    (rec,) = [r for r in graded["records"][student] if lab is None or r["lab"] == lab]
    return rec


def test_an_honest_solution_printing_past_the_output_cap_keeps_full_marks(graded: dict) -> None:
    rec = one(graded, "chatty")
    assert rec["status"] == "graded" and rec["score"] == rec["max_score"] == 7, rec["checks"]


def test_a_submissions_own_seed_and_parameters_cell_do_not_count(graded: dict) -> None:
    """A Markdown cell tagged `parameters` and a later `configure(seed=99)`: the grader's seed wins."""
    rec = one(graded, "own_parameters")
    assert rec["score"] == 7, rec["checks"]
    executed = (graded["out"] / "executed" / "own_parameters" / "own_parameters.ipynb").read_text()
    assert "graded run: seed=0 is used, as the grader sets it, not 99" in executed


def test_a_yaml_alias_bomb_costs_its_question_only(graded: dict) -> None:
    rec = one(graded, "yaml_bomb")
    questions = {q["question"]: q for q in rec["questions"]}
    assert rec["status"] == "graded" and questions["04.q1"]["score"] == 0
    assert any("aliases" in c["message"] for c in rec["checks"] if c["question"] == "04.q1")
    honest = one(graded, "honest_04")
    assert honest["score"] == honest["max_score"] > 0
    assert rec["score"] == honest["score"] - questions["04.q1"]["max_points"]


def test_invented_inputs_earn_nothing(graded: dict) -> None:
    """Blank labs 01 and 04 whose check cells export invented inputs and answers that fit them:
    each would pass its visible check on its own inputs, and scores zero, checked on recomputed ones."""
    from labkit import checks, context

    answer_01, inputs_01 = fabricated_01_q3()
    inputs_01["root"] = str(context.sample_project(seed=0).root)
    for question, (answer, inputs) in [*FABRICATED_04.items(), ("01.q3", (answer_01, inputs_01))]:
        assert checks.evaluate(question, answer, **inputs).passed, question  # the forgery fits its own inputs
    for lab in ("01", "04"):
        rec = one(graded, "fabricated", lab)
        earned = {c["id"] for c in rec["checks"] if c["points"]}
        assert rec["status"] == "graded" and earned <= ANSWER_ONLY, earned
    q3 = [c for c in one(graded, "fabricated", "01")["checks"] if c["id"] == "01.q3"][0]
    assert q3["context"] == "trusted" and "grader's own loads" in q3["message"]


# Checks that judge an answer by itself (its form, or the student's own rules), not measured inputs:
# all a blank lab with invented inputs can earn (1.5 of 12 in lab 04, 1 of 10.5 in lab 01).
ANSWER_ONLY = {"04.q2:shares_are_a_split", "04.q3:counts_are_possible", "04.q4:within_the_ceiling",
               "01.q3:token_saving_recomputed"}


def test_symbolic_links_are_refused_not_graded(graded: dict) -> None:
    for student in ("linked", "copycat"):
        rec = one(graded, student)
        assert rec["status"] == "error" and rec["score"] == 0 and "symbolic link" in rec["error"]
    assert one(graded, "honest")["score"] == 7  # the classmate a link pointed at is graded once, as themself


def test_a_lab_handed_in_twice_counts_once(graded: dict) -> None:
    rec = one(graded, "twice")
    assert rec["submission"].endswith("00_second.ipynb") and rec["score"] == 7
    assert any("handed in 2 times" in flag and "00_second.ipynb (the newest) counts" in flag for flag in rec["flags"])
    row = next(r for r in csv.DictReader(io.StringIO((graded["out"] / "gradebook.csv").read_text()))
               if r["student"] == "twice")
    assert (row["total"], row["max"]) == ("7", "7")


def test_byte_identical_submissions_of_two_students_are_flagged(graded: dict) -> None:
    flags = one(graded, "same_as_honest")["flags"]
    assert any("byte-identical to the submission of" in flag and "honest" in flag for flag in flags)


def test_colliding_names_are_both_graded(graded: dict) -> None:
    """"name clash.ipynb" and "name_clash.ipynb" give one student id: both students are graded, the
    second under a suffixed id, flagged."""
    first, second = one(graded, "name_clash"), one(graded, "name_clash-2")
    assert first["score"] == second["score"] == 7
    assert any("the same student id" in flag for flag in second["flags"])


def test_a_student_id_cannot_be_a_spreadsheet_formula(graded: dict) -> None:
    text = (graded["out"] / "gradebook.csv").read_text()
    students = [row["student"] for row in csv.DictReader(io.StringIO(text))]
    assert all(not s.startswith(("=", "+", "-", "@")) for s in students)
    assert {"'-1-1", "'@SUM"} <= set(students)


def test_active_content_is_not_kept_in_executed_notebooks(graded: dict) -> None:
    executed = nbformat.read(graded["out"] / "executed" / "active" / "active.ipynb", as_version=4)
    kinds = {mime for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs
             for mime in output.get("data", {})}
    assert not kinds & {"text/html", "image/svg+xml", "application/javascript"}
    shown = "".join(str(output) for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs)
    assert "<script>" not in shown and "onload" not in shown and "could run code when opened" in shown


def test_feedback_renders_a_submissions_text_as_text(graded: dict) -> None:
    md = (graded["out"] / "feedback" / "active" / "active.md").read_text()
    html = mistune.create_markdown(escape=False, plugins=["url"])(md)
    assert "phish.example" in html and "<a " not in html and "<img" not in html
    page = (graded["out"] / "feedback" / "active" / "active.html").read_text()
    assert "<img" not in page and "&lt;img" in page


def test_a_huge_notebooks_feedback_stays_short() -> None:
    rec = {"student": "s", "lab": "00", "status": "graded", "questions": [], "checks": [],
           "execution": {"cells": [{"number": n, "source": "x = 1", "error": "did not run", "status": "not run"}
                                   for n in range(30_000)]}}
    lines = feedback.markdown(rec).splitlines()
    assert len(lines) < 40 and any("29,980 more cells" in line for line in lines)


def test_the_notebook_time_limit_covers_every_attempt(tmp_path: Path) -> None:
    """Each cell kills its kernel after a few seconds: the re-runs share one budget."""
    nb = make.solved()
    for n in range(4):
        nb.cells.insert(2 + n, nbformat.v4.new_code_cell("import os, time\ntime.sleep(3)\nos._exit(9)"))
    path = _write(nb, tmp_path / "subs" / "restarts.ipynb")
    started = time.monotonic()
    result = classroom.grade_class([path], out=tmp_path / "out", workers=1, progress=False,
                                   settings=Settings(notebook_timeout=8, max_restarts=6))
    (rec,) = result.records
    assert time.monotonic() - started < 60 and rec["execution"]["seconds"] < 8 + 5
    assert any("limit" in cell["error"] for cell in rec["execution"]["cells"])


def test_a_worker_that_dies_costs_its_submission_only(tmp_path: Path) -> None:
    """A submission that kills the grader's worker process (here: a stand-in grade function) is
    scored alone; the others in the same pool are graded as usual."""
    subs = tmp_path / "subs"
    for name in ("a", "killer", "b", "c"):
        shutil.copy(SOLUTION_00, subs / f"{name}.ipynb") if subs.exists() else (subs.mkdir(), shutil.copy(
            SOLUTION_00, subs / f"{name}.ipynb"))
    jobs = classroom.make_jobs(classroom.submission.discover([subs]), root=ROOT, settings=SETTINGS,
                               instructor_dir=ROOT / "instructor")
    results = dict(classroom._pooled(jobs, list(range(len(jobs))), 1, grade=fake_grade))
    by_student = {jobs[i].student: graded.record for i, graded in results.items()}
    assert sorted(by_student) == ["a", "b", "c", "killer"]
    assert all(by_student[s]["status"] == "fake" for s in ("a", "b", "c"))
    assert by_student["killer"]["status"] == "graded" and by_student["killer"]["score"] == 0
    assert any("stopped the grader's worker process" in flag for flag in by_student["killer"]["flags"])


def fake_grade(job: classroom.Job) -> classroom.Graded:
    """Stands in for `grade_job` in a worker process: dies on the killer, answers the others."""
    if job.student == "killer":
        os._exit(9)
    time.sleep(0.2)
    return classroom.Graded({"student": job.student, "status": "fake"}, None)


@pytest.mark.skipif(not isolation.probe(ROOT).cgroups, reason="needs writable cgroups (root)")
def test_a_submissions_processes_share_one_memory_limit(tmp_path: Path) -> None:
    """Three processes of one submission, 500 MB each, under a 1 GB share: they cannot all hold it
    (per-process limits alone once let one submission hold 5.1 GB)."""
    nb = make.solved()
    nb.cells.insert(len(nb.cells) - 1, nbformat.v4.new_code_cell(HOGS))
    path = _write(nb, tmp_path / "subs" / "hogs.ipynb")
    settings = dataclasses.replace(SETTINGS, limits=isolation.Limits(memory_mb=1024))
    result = classroom.grade_class([path], out=tmp_path / "out", workers=1, progress=False, settings=settings)
    (rec,) = result.records
    executed = nbformat.read(tmp_path / "out" / "executed" / "hogs" / "hogs.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "held 3 of 3" not in text and rec["status"] == "graded"


HOGS = """\
import subprocess, sys
hog = "import time; block = b'x' * (500 * 2**20); print('held', flush=True); time.sleep(20)"
hogs = [subprocess.Popen([sys.executable, "-c", hog], stdout=subprocess.PIPE) for _ in range(3)]
held = sum(p.stdout.readline() == b"held\\n" and p.poll() is None for p in hogs)
for p in hogs:
    p.kill()
print(f"held {held} of 3")"""
