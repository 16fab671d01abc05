"""Grading records (one JSON file per submission) and the class gradebook (one CSV row per student).

A record holds everything needed to understand and reproduce a grade: every check's points, verdict,
message, visibility and duration; what happened to each cell that did not run cleanly; the seed,
parameters, limits and protection it ran under; the package versions; the notebook's sha256; the
instructor module's digest; timestamps. Records are for instructors: they keep hidden checks'
descriptions and messages in full. Students get feedback rendered from them (`feedback`), which
applies each check's visibility.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import io
import json
import os
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from .evaluate import QuestionOutcome

SCHEMA = 1
GRADER_VERSION = "1"  # bump when a change to the grader can change a score: resumed runs regrade
GRADED, ERROR = "graded", "error"
PACKAGES = ("labkit", "anthropic", "papermill", "nbclient", "jupyter_client", "ipykernel", "pyzmq")


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a grade depends on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def grader_id(instructor_digest: str, settings: Mapping[str, Any]) -> str:
    """What a stored grade was computed by: a resumed run reuses a record only if this matches."""
    encoded = json.dumps({"grader": GRADER_VERSION, "instructor": instructor_digest, "settings": settings},
                         sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def record(*, student: str, submission: str, sha256: str, lab: str | None, released: str | None,
           questions: Sequence[QuestionOutcome], status: str, error: str = "", flags: Sequence[str] = (),
           execution: Mapping[str, Any] | None = None, reproduce: Mapping[str, Any], started: str,
           seconds: float) -> dict[str, Any]:
    """One submission's record as a JSON-able dict (see the module docstring)."""
    checks = [dataclasses.asdict(check) for question in questions for check in question.checks]
    all_flags = list(flags) + [flag for question in questions for flag in question.flags]
    return {
        "schema": SCHEMA,
        "grader_version": GRADER_VERSION,
        "student": student,
        "submission": submission,
        "notebook_sha256": sha256,
        "lab": lab,
        "released_lab": released,
        "status": status,
        "error": error,
        "score": round(sum(q.score for q in questions), 6),
        "max_score": round(sum(q.max_points for q in questions), 6),
        "questions": [{"question": q.question, "status": q.status, "detail": q.detail, "cell": q.cell,
                       "cell_seconds": q.cell_seconds, "score": round(q.score, 6),
                       "max_points": round(q.max_points, 6), "flags": list(q.flags)} for q in questions],
        "checks": checks,
        "flags": all_flags,
        "execution": dict(execution or {}),
        "reproduce": dict(reproduce),
        "started": started,
        "finished": now(),
        "seconds": round(seconds, 3),
    }


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically, so an interrupted class run never leaves a half record that resume would trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def gradebook(records: Sequence[Mapping[str, Any]]) -> str:
    """CSV text: one row per student, one column per question (all labs graded), total, max, notes."""
    questions: list[str] = []
    for rec in records:
        for question in rec.get("questions", []):
            if question["question"] not in questions:
                questions.append(question["question"])
    questions.sort(key=_question_order)
    rows: dict[str, dict[str, Any]] = {}
    for rec in sorted(records, key=lambda r: (str(r.get("student")), str(r.get("lab")))):
        row = rows.setdefault(str(rec.get("student")), {"total": 0.0, "max": 0.0, "notes": []})
        for question in rec.get("questions", []):
            row[question["question"]] = _number(question["score"])
        row["total"] += rec.get("score", 0.0)
        row["max"] += rec.get("max_score", 0.0)
        if rec.get("status") != GRADED:
            row["notes"].append(f"lab {rec.get('lab') or '?'}: not graded ({rec.get('error', '')})")
        elif rec.get("flags"):
            row["notes"].append(f"lab {rec.get('lab')}: {len(rec['flags'])} flag(s) in the record")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *questions, "total", "max", "notes"])
    for student, row in rows.items():
        writer.writerow([_cell(student), *(row.get(q, "") for q in questions), _number(row["total"]),
                         _number(row["max"]), _cell("; ".join(row["notes"]))])
    return out.getvalue()


def _cell(text: str) -> str:
    """Text a spreadsheet must not run as a formula (OWASP "CSV injection"): a leading `=`, `+`, `-`,
    `@`, tab or carriage return gets a quote in front, which spreadsheets show as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _number(value: float) -> str:
    return f"{value:g}"


def _question_order(question: str) -> tuple[str, int, str]:
    lab, _, rest = question.partition(".")
    digits = "".join(ch for ch in rest if ch.isdigit())
    return (lab, int(digits) if digits else 0, rest)
