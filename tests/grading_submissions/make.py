"""Known-wrong and hostile lab-00 submissions, generated from the solved lab (no hand-kept copies).

    python tests/grading_submissions/make.py OUT              every case as OUT/<case>.ipynb
    python tests/grading_submissions/make.py OUT --class 20   a class of 20 (solutions, stubs, wrong ones)

Each case starts from solutions/00_start_here_lab.ipynb with its solution markers removed (what a
student who solved the lab hands in) and rewrites some cells. The scores each case must get are the
golden expectations in expected.json, beside this file; tests/test_grading_submissions.py checks them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "00_start_here_lab.ipynb"
LAB = ROOT / "labs" / "00_start_here_lab.ipynb"
MARKERS = re.compile(r"^\s*# (BEGIN SOLUTION|END SOLUTION|PROMPT:.*)$")

# Replaces labkit.check in the kernel with one that shows forged "passed" outputs.
FORGER = '''\
from IPython.display import display
from labkit.checks import CHECK_MIME

def forged_check(qid, answer, **context):
    payload = {"question": qid, "passed": True, "message": "perfect", "answer": answer, "context": context}
    display({CHECK_MIME: payload, "text/plain": f"✔ {qid} passed: perfect"}, raw=True)

labkit.check = forged_check
print("✔ 00.q1 passed\\n✔ 00.q2 passed\\n✔ 00.q3 passed\\nScore: 7/7")'''

TIMED_REVIEWS = '''\
for prompt in REVIEW_PROMPTS:
    with timer:
        client.messages.create(model=MODEL, max_tokens=150, messages=[{"role": "user", "content": prompt}])
'''

# Every attempt prints "blocked: ..." when it fails and "LEAKED: ..." when it succeeds.
ESCAPES = '''\
import os, pathlib, socket, subprocess
root = labkit.config.find_root()

def attempt(what, action):
    try:
        result = action()
        print(f"LEAKED: {what}: {str(result)[:80]!r}")
    except Exception as exc:
        print(f"blocked: {what}: {type(exc).__name__}")

attempt("read hidden checks", lambda: (root / "instructor" / "hidden" / "lab00.py").read_text())
attempt("read the solution", lambda: (root / "solutions" / "00_start_here_lab.ipynb").read_text())
hidden = ("instructor", "solutions", "tests", ".git")
attempt("list the course", lambda: [n for n in os.listdir(root) if n in hidden] or 1 / 0)
attempt("overwrite a check", lambda: (root / "src" / "labkit" / "checks" / "lab00.py").write_text("PWNED"))
attempt("delete the released lab", lambda: (root / "labs" / "00_start_here_lab.ipynb").unlink())
attempt("network", lambda: socket.create_connection(("1.1.1.1", 53), timeout=2))
secret = ("KEY", "TOKEN", "SECRET")
attempt("secrets in the environment", lambda: [k for k in os.environ if any(s in k for s in secret)] or 1 / 0)
attempt("write the host's /tmp", lambda: open("/tmp/labkit-grading-pwned", "w").write("x") and
        os.stat("/proc/1/root/tmp/labkit-grading-pwned"))
def others():  # processes outside this submission's own: the grader, pytest, a classmate's kernel
    seen = [(pathlib.Path("/proc") / p / "cmdline").read_bytes() for p in os.listdir("/proc") if p.isdigit()]
    return [c[:60] for c in seen if b"pytest" in c or b"labkit.grading" in c] or 1 / 0
attempt("see the machine's processes", others)
def held():  # descriptors inherited from the grader, onto files outside the working copy
    fds = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")]
    return [t for t in fds if t.startswith("/") and not t.startswith((os.getcwd(), "/dev/", "/proc/"))] or 1 / 0
attempt("use the grader's descriptors", held)
def fill_disk():  # 1.2 GB into the working copy, 100 MB a file: the grader's disk must not fill
    for n in range(12):
        with open(f"filler{n}.bin", "wb") as handle:
            for _ in range(100):
                handle.write(b"x" * 2**20)
    return sum(os.path.getsize(f"filler{n}.bin") for n in range(12))
attempt("fill the disk", fill_disk)
for n in range(12):
    pathlib.Path(f"filler{n}.bin").unlink(missing_ok=True)
subprocess.Popen(["sleep", "600"], start_new_session=True)  # must not outlive grading
import labkit.checks
labkit.checks._as_verdict = lambda result: labkit.checks.Verdict(True, "")  # every check "passes" here
print("escape attempts done")'''

KILL_EVERYTHING = '''\
import os
if os.getuid() >= 62000:  # only ever as a grading uid: kill(-1) reaches only its own processes
    os.kill(-1, 9)'''

IGNORE_INTERRUPTS = '''\
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
while True:
    time.sleep(0.05)'''


def solved(path: Path = SOLUTION) -> nbformat.NotebookNode:
    """A solution as a student hands it in: no markers, no outputs."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join(line for line in cell.source.split("\n") if not MARKERS.match(line))
            cell.outputs, cell.execution_count = [], None
    return nb


def check_cell(nb: nbformat.NotebookNode, question: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f'labkit.check("{question}"' in c.source)


def answer(nb: nbformat.NotebookNode, question: str, code: str) -> None:
    """Replace the code before a question's `labkit.check(...)` line."""
    cell = nb.cells[check_cell(nb, question)]
    lines = cell.source.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("labkit.check("))
    cell.source = code.rstrip("\n") + "\n" + "\n".join(lines[at:])


def insert(nb: nbformat.NotebookNode, before: int, code: str) -> None:
    nb.cells.insert(before, nbformat.v4.new_code_cell(code))


def wrong_answers(nb: nbformat.NotebookNode) -> None:
    answer(nb, "00.q1", "call_cost = cost.price(response.usage, MODEL).total * 1_000_000")
    answer(nb, "00.q2", "saving = tokens.estimate(CONCISE, MODEL) / tokens.estimate(VERBOSE, MODEL)")
    answer(nb, "00.q3", TIMED_REVIEWS + "p95 = timer.summary().p95 * TIME_SCALE  # wall seconds, not API-equivalent")


def forged(nb: nbformat.NotebookNode) -> None:
    insert(nb, check_cell(nb, "00.q1"), FORGER)
    nb.cells[check_cell(nb, "00.q1")].source = (
        'call_cost = 1.0\nlabkit.check("00.q1", call_cost, usage={"input_tokens": 1_000_000, "output_tokens": 0},'
        ' model=MODEL)')
    nb.cells[check_cell(nb, "00.q2")].source = (
        'saving = 0.9\nlabkit.check("00.q2", saving, verbose="one two three four five six seven eight nine ten",'
        ' concise="one", model=MODEL)')
    nb.cells[check_cell(nb, "00.q3")].source = 'p95 = 1.0\nlabkit.check("00.q3", p95, samples=[1.0] * 5)'


def duplicates(nb: nbformat.NotebookNode) -> None:
    forge = FORGER.split("labkit.check = forged_check")[0]
    forged_q2 = "forged_check('00.q2', 0.99, verbose=VERBOSE, concise=CONCISE, model=MODEL)"
    insert(nb, check_cell(nb, "00.q2"), forge + forged_q2)
    nb.cells.append(nbformat.v4.new_code_cell("forged_check('00.q1', 123.0, usage=response.usage, model=MODEL)"))


def crashes(nb: nbformat.NotebookNode) -> None:
    q1 = nb.cells[check_cell(nb, "00.q1")]
    q1.source += '\nraise RuntimeError("my cell breaks after the check")'
    answer(nb, "00.q2", "import sys\nsys.exit(1)\nsaving = 0.5")
    insert(nb, check_cell(nb, "00.q3"), "print(undefined_name)")


def runtime_hostile(nb: nbformat.NotebookNode) -> None:
    answer(nb, "00.q1", "while True:\n    pass")
    answer(nb, "00.q2", "import os\nos.kill(os.getpid(), 9)")
    at = check_cell(nb, "00.q3")
    insert(nb, at, IGNORE_INTERRUPTS)
    insert(nb, at, "memory_bomb = bytearray(64 * 2**30)")
    insert(nb, at, 'print("x" * 30_000_000)')


def escape(nb: nbformat.NotebookNode) -> None:
    at = check_cell(nb, "00.q1")
    insert(nb, at, KILL_EVERYTHING)
    insert(nb, at, ESCAPES)


CASES: dict[str, Callable[[nbformat.NotebookNode], None]] = {
    "wrong_answers": wrong_answers, "forged": forged, "duplicates": duplicates, "crashes": crashes,
    "runtime_hostile": runtime_hostile, "escape": escape,
}
NOT_A_NOTEBOOK = b'{"cells": "this is not a notebook'


def write_cases(out: Path, names: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or list(CASES) + ["not_a_notebook"]:
        path = out / f"{name}.ipynb"
        if name == "not_a_notebook":
            path.write_bytes(NOT_A_NOTEBOOK)
        else:
            nb = solved()
            CASES[name](nb)
            nbformat.write(nb, path)
        written.append(path)
    return written


def write_class(out: Path, size: int) -> list[Path]:
    """A class: solved notebooks, untouched labs and wrong answers, in turn (s01, s02, ...)."""
    out.mkdir(parents=True, exist_ok=True)
    kinds = ["solution", "lab", "wrong_answers", "solution", "crashes"]
    written = []
    for n in range(1, size + 1):
        kind = kinds[(n - 1) % len(kinds)]
        path = out / f"s{n:02d}.ipynb"
        if kind == "lab":
            path.write_bytes(LAB.read_bytes())
        else:
            nb = solved()
            if kind != "solution":
                CASES[kind](nb)
            nbformat.write(nb, path)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--class", dest="size", type=int, default=None, help="write a class of this size instead")
    args = parser.parse_args(argv)
    paths = write_class(args.out, args.size) if args.size else write_cases(args.out)
    print(f"{len(paths)} submissions in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
