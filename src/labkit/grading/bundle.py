"""`labkit bundle`: build what students receive, and prove nothing an instructor keeps is in it.

The bundle holds the lessons, the labs (generated afresh from solutions/, exactly as `labkit
build-labs` writes them, so a stale or hand-edited lab cannot leak an answer), the package, the data,
the docs, README, pyproject.toml, environment.yml and bootstrap.py. It never holds solutions/,
instructor/ (hidden checks), tests/, runs/ or anything .gitignore excludes (generated data, caches).

Before anything is written, every file is verified: no path under an instructor-only folder, no
notebook with a solution marker or stored outputs in a lab, no solution marker in any other text
file but the lab builder's own source, and no file whose bytes equal an instructor file's. A failed
check writes nothing. The zip is deterministic (sorted entries, fixed timestamps), so two builds of
the same course are byte-identical.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

from ..config import find_root
from ..course import labs
from ..errors import LabkitError
from .isolation import STUDENT_PATHS

TOP = "labkit-student"
DEFAULT_OUT = Path("dist") / f"{TOP}.zip"
INSTRUCTOR_ONLY = ("solutions", "instructor", "tests", "runs", "graded", ".git", ".venv")
SKIPPED_PARTS = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")
MARKER_ALLOWED = ("src/labkit/course/labs.py",)  # the lab builder names the markers it strips
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


class BundleError(LabkitError):
    """The bundle would leak something instructor-only: nothing was written."""


def collect(root: Path) -> dict[str, bytes]:
    """Relative posix path -> bytes of every file students receive (labs regenerated from solutions)."""
    ignored = _gitignore(root)
    files: dict[str, bytes] = {}
    for name in STUDENT_PATHS:
        path = root / name
        if path.is_file():
            files[name] = path.read_bytes()
        elif path.is_dir() and name != labs.LABS_DIR:
            for item in sorted(path.rglob("*")):
                relative = item.relative_to(root).as_posix()
                if item.is_file() and not _skipped(relative, ignored):
                    files[relative] = item.read_bytes()
    for lab_path, text in labs.expected_labs(root).items():
        files[lab_path.relative_to(root).as_posix()] = text.encode("utf-8")
    return dict(sorted(files.items()))


def _gitignore(root: Path):  # -> pathspec.PathSpec | None
    import pathspec

    path = root / ".gitignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _skipped(relative: str, ignored) -> bool:
    parts = relative.split("/")
    return (any(part in SKIPPED_PARTS or part.endswith(".egg-info") for part in parts)
            or ignored.match_file(relative))


def problems(files: Mapping[str, bytes], root: Path) -> list[str]:
    """Everything in `files` that must not reach a student (empty: safe to ship)."""
    found = []
    instructor = {hashlib.sha256(p.read_bytes()).hexdigest(): p.relative_to(root).as_posix()
                  for folder in ("instructor", "solutions") if (root / folder).is_dir()
                  for p in (root / folder).rglob("*") if p.is_file()}
    for name, data in files.items():
        top = name.split("/", 1)[0]
        if top in INSTRUCTOR_ONLY:
            found.append(f"{name}: {top}/ is instructor-only")
        digest = hashlib.sha256(data).hexdigest()
        if digest in instructor and data.strip():
            found.append(f"{name}: identical to instructor file {instructor[digest]}")
        if name.endswith(".ipynb"):
            found.extend(_notebook_problems(name, data))
        elif name not in MARKER_ALLOWED and any(m.encode() in data for m in labs.FORBIDDEN):
            found.append(f"{name}: contains a solution marker")
    return found


def _notebook_problems(name: str, data: bytes) -> list[str]:
    import nbformat

    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as exc:
        return [f"{name}: not a readable notebook ({type(exc).__name__})"]
    found = [f"{name}: cell {cell} has a solution marker" for cell in labs.solution_markers(nb)]
    if name.startswith(f"{labs.LABS_DIR}/") and any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
        found.append(f"{name}: a lab with stored outputs")
    return found


def write(files: Mapping[str, bytes], out: Path) -> Path:
    """A deterministic zip (`out` ends in .zip) or a folder."""
    out = out.resolve()
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                info = zipfile.ZipInfo(f"{TOP}/{name}", ZIP_TIME)
                info.external_attr = (0o755 if name == "bootstrap.py" else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        out.write_bytes(buffer.getvalue())
        return out
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} exists and is not empty: choose a new folder or a .zip path")
    for name, data in files.items():
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return out


def build(root: Path, out: Path) -> tuple[Path, dict[str, bytes]]:
    """Collect, verify (raising BundleError before anything is written), write."""
    files = collect(root)
    found = problems(files, root)
    if found:
        raise BundleError("the student bundle would leak: " + "; ".join(found[:5])
                          + (f" (and {len(found) - 5} more)" if len(found) > 5 else ""))
    return write(files, out), files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="PATH",
                        help=f"a .zip file or an empty folder (default: {DEFAULT_OUT})")
    parser.add_argument("--root", type=Path, default=None,
                        help="the course folder (default: the one labkit is installed from)")


def main(args: argparse.Namespace) -> int:
    root = (args.root or find_root()).resolve()
    path, files = build(root, args.out)
    size = sum(len(data) for data in files.values())
    tops = sorted({name.split("/", 1)[0] for name in files})
    print(f"{path}: {len(files)} files, {size / 1e6:.1f} MB ({', '.join(tops)})")
    print("verified: no solutions, no instructor files, no solution markers, labs regenerated from solutions/")
    return 0

