"""Per-student feedback, in Markdown and HTML, rendered from a grading record.

The visibility policy, applied here and nowhere else:

- visible checks: verdict, points and the check's hint (hints never state the expected value);
- hidden checks with visibility `always`: verdict, points, what the check looks at and its message;
- `after_deadline`: the same once rendered with `after_deadline=True` (`labkit grade --after-deadline`);
  before that, like `never`;
- `never`: "hidden check: passed" or "failed" and its points — never what it looks for.

Scores always include every check, hidden ones too, so a student never reads "all checks passed"
above a total that says otherwise. Instructor-only notes (flags, trusted/exported contexts, grader
problems) stay in the record.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

PASS, FAIL = "✔", "✘"
MAX_CELL_NOTES = 20  # a notebook of 30,000 failing cells gets 20 lines and a count, not 30,000
# What lets text make a link, an image or HTML when Markdown is rendered: brackets, angle brackets and
# entities, and the starts of bare URLs that GitHub-flavoured Markdown turns into links.
_LINK_STARTS = re.compile(r"(?i)(://|\bwww\.)")


def _check_line(check: Mapping[str, Any], after_deadline: bool, answered: bool) -> str:
    mark = PASS if check["passed"] else FAIL
    points = f"{_n(check['points'])}/{_n(check['max_points'])}"
    if not answered:  # the reason is said once, above the checks
        kind = "check" if check["kind"] == "visible" else "hidden check"
        return f"{mark} {kind} ({points})"
    if check["kind"] == "visible":
        message = f": {check['message']}" if check["message"] else ""
        return f"{mark} check ({points}){message}"
    shown = check["visibility"] == "always" or (check["visibility"] == "after_deadline" and after_deadline)
    verdict = "passed" if check["passed"] else "failed"
    if not shown:
        later = " (what it checks is shown after the deadline)" if check["visibility"] == "after_deadline" else ""
        return f"{mark} hidden check ({points}): {verdict}{later}"
    message = f" — {check['message']}" if check["message"] else ""
    return f"{mark} hidden check ({points}): {check['description']}: {verdict}{message}"


Section = tuple[str, str, list[str]]  # a question's heading, why it was not graded, its check lines


def _sections(rec: Mapping[str, Any], after_deadline: bool) -> tuple[str, list[str], list[Section], list[str]]:
    """The title, the header lines, one section per question, and notes on cells that failed."""
    title = f"Lab {rec.get('lab') or '?'} — feedback for {rec.get('student')}"
    head = []
    if rec.get("status") != "graded":
        head.append(f"Your submission could not be graded automatically: {rec.get('error') or 'unknown problem'}. "
                    "Your instructor can see this message.")
    head.append(f"Score: {_n(rec.get('score', 0))} / {_n(rec.get('max_score', 0))}, every check counted "
                "(hidden ones too).")
    head.append(f"Graded {rec.get('finished', '')} on the offline simulator, seed "
                f"{rec.get('reproduce', {}).get('seed', '?')}.")
    checks_by_question: dict[str, list[Mapping[str, Any]]] = {}
    for check in rec.get("checks", []):
        checks_by_question.setdefault(check["question"], []).append(check)
    questions = []
    for question in rec.get("questions", []):
        heading = f"{question['question']} — {_n(question['score'])} / {_n(question['max_points'])}"
        note = "" if question["status"] == "answered" else f"Not graded: {question['detail']}."
        answered = question["status"] == "answered"
        lines = [_check_line(c, after_deadline, answered) for c in checks_by_question.get(question["question"], [])]
        questions.append((heading, note, lines))
    cells = rec.get("execution", {}).get("cells", [])
    notes = [_cell_note(cell) for cell in cells[:MAX_CELL_NOTES]]
    if len(cells) > MAX_CELL_NOTES:
        notes.append(f"… and {len(cells) - MAX_CELL_NOTES:,} more cells (listed in the record)")
    return title, head, questions, notes


def _cell_note(cell: Mapping[str, Any]) -> str:
    where = f"cell {cell.get('number')}" + (f" (`{cell['source']}`)" if cell.get("source") else "")
    return f"{where} {cell.get('error') or cell.get('status', '')}"


def markdown(rec: Mapping[str, Any], *, after_deadline: bool = False) -> str:
    """The feedback as Markdown; every line built from the record is escaped (`_md`), since error
    messages, hints and cell sources come from the submission."""
    title, head, questions, notes = _sections(rec, after_deadline)
    lines = [f"# {_md(title)}", ""] + [f"{_md(line)}  " for line in head] + [""]
    for heading, note, checks in questions:
        lines += [f"## {_md(heading)}", ""]
        if note:
            lines += [_md(note), ""]
        lines += [f"- {_md(check)}" for check in checks] + [""]
    if notes:
        lines += ["## Cells that did not run cleanly", ""] + [f"- {_md(n)}" for n in notes] + [""]
    return "\n".join(lines)


def html_page(rec: Mapping[str, Any], *, after_deadline: bool = False) -> str:
    title, head, questions, notes = _sections(rec, after_deadline)
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:50em;margin:2em auto;line-height:1.5}"
             "li.pass{color:#1a7f37}li.fail{color:#cf222e}p.note{font-style:italic}</style>",
             "</head><body>", f"<h1>{e(title)}</h1>"]
    parts += [f"<p>{e(line)}</p>" for line in head]
    for heading, note, checks in questions:
        parts.append(f"<h2>{e(heading)}</h2>")
        if note:
            parts.append(f'<p class="note">{e(note)}</p>')
        parts.append("<ul>" + "".join(f'<li class="{"pass" if c.startswith(PASS) else "fail"}">{e(c)}</li>'
                                      for c in checks) + "</ul>")
    if notes:
        parts.append("<h2>Cells that did not run cleanly</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes)
                     + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _n(value: Any) -> str:
    return f"{float(value):g}"


def _md(text: str) -> str:
    """Text from a record as Markdown that renders as that text, on one line: no HTML, no link, no
    image, no autolink, while the source stays readable as plain text."""
    flat = " ".join(str(text).split()).replace("\\", "\\\\")
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = flat.replace("[", "\\[").replace("]", "\\]")
    return _LINK_STARTS.sub(lambda m: "\\" + m.group(1) if m.group(1) == "://" else m.group(1)[:-1] + "\\.", flat)
