"""Walk a project and load it as an agent would put it into context: files, bytes, tokens, time.

Why: the guide's step 1 times `ls -la`, which lists one directory and never reads a file, so it
cannot see what ignore rules change. What rules change is what gets *read* and, above all, how many
*tokens* that text becomes. `load()` walks the project (skipping excluded directories without
opening them), reads every kept file, and reports files, bytes read, estimated tokens
(`labkit.tokens`) and the **wall time** of the walk and the reads. That time is real local I/O,
not simulated: it is not divided by the simulator's time scale, and it varies from run to run.

Bad input does not stop a walk: unreadable files and directories, broken symlinks and special files
(FIFOs, sockets) are skipped and reported with the reason; directory symlinks are not followed
unless asked, and when they are, a directory already walked is not walked again (no loops). Binary
files (a NUL byte in the first 8000 bytes, git's test, or not UTF-8) are read only that far, reported,
and count no tokens.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pathspec

from .. import config, tokens
from .errors import ContextError
from .rules import IgnoreRules, Rule

SNIFF_BYTES = 8000  # git's binary test looks for a NUL byte in the first 8000 bytes


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """A file the loader read. `bytes_read` < `size` for a binary file (read only until detected)."""

    path: str
    size: int
    bytes_read: int
    tokens: int
    binary: bool


@dataclasses.dataclass(frozen=True)
class Excluded:
    """A file or directory the rules left out, with the rule (line) that did it."""

    path: str
    directory: bool
    rule: Rule

    @property
    def reason(self) -> str:
        return f"excluded by {self.rule}"


@dataclasses.dataclass(frozen=True)
class Skipped:
    """Something the walk could not or would not read, and why."""

    path: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Found:
    """A kept file found by the walk, not read yet."""

    path: str
    location: Path
    size: int


@dataclasses.dataclass(frozen=True)
class Walk:
    """What a walk found: kept files, exclusions, skips, and its wall time in seconds."""

    files: tuple[Found, ...]
    excluded: tuple[Excluded, ...]
    skipped: tuple[Skipped, ...]
    directories: int
    seconds: float

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclasses.dataclass(frozen=True)
class Listing:
    """One directory listed the way `ls -la` does: names and metadata, no file contents."""

    entries: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """A project loaded into context: what was read, left out and skipped, and how long it took.

    `seconds` is the wall time of walking and reading (real local I/O); token estimation is the
    measuring instrument, not part of loading, and is not timed.
    """

    root: Path
    model: str
    files: tuple[FileEntry, ...]
    excluded: tuple[Excluded, ...]
    skipped: tuple[Skipped, ...]
    seconds: float

    @property
    def text_files(self) -> tuple[FileEntry, ...]:
        return tuple(f for f in self.files if not f.binary)

    @property
    def binary_files(self) -> tuple[FileEntry, ...]:
        return tuple(f for f in self.files if f.binary)

    @property
    def tokens(self) -> int:
        return sum(f.tokens for f in self.files)

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.files)

    @property
    def size(self) -> int:
        """Bytes on disk of every file the rules kept (binary files included)."""
        return sum(f.size for f in self.files)

    def summary(self) -> str:
        """One line: files, bytes, tokens, exclusions, skips, and the (volatile, `~`) wall time."""
        return (f"{len(self.text_files):,} text + {len(self.binary_files):,} binary files, "
                f"{self.bytes_read:,} bytes read, {self.tokens:,} tokens (estimate, {self.model}); "
                f"{len(self.excluded):,} excluded, {len(self.skipped):,} skipped; "
                f"{fmt_wall(self.seconds)} wall")


def fmt_wall(seconds: float) -> str:
    """A measured wall time of local I/O for printing, in milliseconds, marked `~` (it varies by run)."""
    return f"~{seconds * 1000:.2f} ms"


def project_root(root: str | Path) -> Path:
    """`root` as an existing directory, or a ContextError that says what is wrong."""
    path = Path(root)
    if not path.exists():
        raise ContextError(f"the project folder {str(path)!r} does not exist")
    if not path.is_dir():
        raise ContextError(f"{str(path)!r} is a file, not a project folder")
    return path


def walk(root: str | Path, rules: IgnoreRules | None = None, *, follow_symlinks: bool = False) -> Walk:
    """Find the files `rules` keep under `root`, without opening excluded directories.

    Reads metadata only (like `ls -lR` or `find`). Paths are relative to `root`, `/`-separated,
    in sorted order.
    """
    base = project_root(root)
    rules = rules or IgnoreRules()
    started = time.perf_counter()
    found: list[Found] = []
    excluded: list[Excluded] = []
    skipped: list[Skipped] = []
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[Path, str]] = [(base, "")]
    directories = 0
    while stack:
        folder, rel = stack.pop()
        if follow_symlinks:
            identity = _identity(folder)
            if identity in visited:
                skipped.append(Skipped(rel, "symlink loop: this directory was already walked"))
                continue
            visited.add(identity)
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(rel or ".", f"unreadable directory: {exc.strerror or exc}"))
            continue
        directories += 1
        subfolders: list[tuple[Path, str]] = []
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            kind, info = _classify(entry, follow_symlinks)
            if kind == "dir":
                rule = rules.excluding_dir(path)
                if rule is not None:
                    excluded.append(Excluded(path, True, rule))
                else:
                    subfolders.append((Path(entry.path), path))
            elif kind == "file":
                rule = rules.excluding_file(path, info.st_size)
                if rule is not None:
                    excluded.append(Excluded(path, False, rule))
                else:
                    found.append(Found(path, Path(entry.path), info.st_size))
            else:
                skipped.append(Skipped(path, kind))
        stack.extend(reversed(subfolders))
    return Walk(tuple(sorted(found, key=lambda f: f.path)), tuple(excluded), tuple(skipped),
                directories, time.perf_counter() - started)


def load(root: str | Path, rules: IgnoreRules | None = None, *, model: str | None = None,
         follow_symlinks: bool = False) -> LoadReport:
    """Walk `root`, read every file `rules` keep, and report files, bytes, tokens and wall time."""
    found = walk(root, rules, follow_symlinks=follow_symlinks)
    started = time.perf_counter()
    read: list[tuple[Found, int, str | None]] = []
    skipped = list(found.skipped)
    for item in found.files:
        try:
            read.append((item, *_read(item.location)))
        except OSError as exc:
            skipped.append(Skipped(item.path, f"unreadable file: {exc.strerror or exc}"))
    seconds = found.seconds + time.perf_counter() - started
    model_id = model or config.current().model
    files = tuple(FileEntry(item.path, item.size, count, tokens.estimate(text, model_id) if text else 0,
                            text is None) for item, count, text in read)
    return LoadReport(Path(root), model_id, files, found.excluded, tuple(skipped), seconds)


def list_dir(root: str | Path) -> Listing:
    """List one directory as `ls -la` does (names plus metadata of each entry) and time it."""
    base = project_root(root)
    started = time.perf_counter()
    with os.scandir(base) as scan:
        entries = [entry.stat(follow_symlinks=False) for entry in scan]
    os.stat(base)
    os.stat(base.parent)  # `ls -la` also shows `.` and `..`
    return Listing(len(entries) + 2, time.perf_counter() - started)


@dataclasses.dataclass(frozen=True)
class Category:
    """A named group of files for reports: gitignore-style patterns, optionally above a size."""

    name: str
    patterns: tuple[str, ...]
    min_bytes: int = 0


# Groups that matter when deciding what to leave out of context; first match wins.
CATEGORIES = (
    Category("dependencies", ("node_modules/", "vendor/", ".venv/")),
    Category("caches", ("__pycache__/", ".pytest_cache/", "cache/", "*.pyc")),
    Category("build output", ("dist/", "build/", "coverage/")),
    Category("audio", ("*.wav", "*.mp3")),
    Category("generated output", ("*_output/", "temp/")),
    Category("logs", ("*.log",)),
    Category("backups", ("*_backup.py", "*_old.py")),
    Category("large data (> 100 KB)", ("*.json", "*.jsonl", "*.csv"), min_bytes=100_000),
    Category("data", ("*.json", "*.jsonl", "*.csv", "*.yaml", "*.toml")),
    Category("tests", ("tests/",)),
    Category("source", ("*.py", "*.js", "*.ts")),
    Category("docs", ("*.md", "*.txt")),
)


@dataclasses.dataclass(frozen=True)
class CategoryTotals:
    files: int = 0
    size: int = 0
    bytes_read: int = 0
    tokens: int = 0

    def __add__(self, entry: FileEntry) -> "CategoryTotals":
        return CategoryTotals(self.files + 1, self.size + entry.size, self.bytes_read + entry.bytes_read,
                              self.tokens + entry.tokens)


def category(entry: FileEntry, categories: Sequence[Category] = CATEGORIES) -> str:
    """The first category whose patterns match `entry` (and whose size floor it reaches), or "other"."""
    for group in categories:
        if group.min_bytes and entry.size <= group.min_bytes:
            continue
        if _spec(group.patterns).match_file(entry.path):
            return group.name
    return "other"


def by_category(report: LoadReport, categories: Sequence[Category] = CATEGORIES) -> dict[str, CategoryTotals]:
    """Files, bytes on disk, bytes read and tokens per category, in the categories' order."""
    totals = {group.name: CategoryTotals() for group in categories} | {"other": CategoryTotals()}
    for entry in report.files:
        name = category(entry, categories)
        totals[name] = totals[name] + entry
    return {name: total for name, total in totals.items() if total.files}


def missing(report: LoadReport, paths: Iterable[str]) -> list[str]:
    """Which of `paths` the report did not load as text (to check that nothing needed was lost)."""
    loaded = {f.path for f in report.text_files}
    return [path for path in paths if path not in loaded]


@functools.lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _identity(folder: Path) -> tuple[int, int]:
    info = os.stat(folder)
    return info.st_dev, info.st_ino


def _classify(entry: os.DirEntry, follow_symlinks: bool) -> tuple[str, os.stat_result | None]:
    """("dir" | "file", stat) for what the walk may enter or read, else (why it is skipped, None)."""
    try:
        if entry.is_symlink():
            try:
                info = os.stat(entry.path)
            except OSError:
                return "broken symlink", None
            if stat.S_ISDIR(info.st_mode):
                return ("dir", info) if follow_symlinks else ("directory symlink not followed", None)
        elif entry.is_dir(follow_symlinks=False):
            return "dir", None
        else:
            info = entry.stat(follow_symlinks=False)
        if stat.S_ISREG(info.st_mode):
            return "file", info
        return "not a regular file (FIFO, socket or device)", None
    except OSError as exc:
        return f"unreadable entry: {exc.strerror or exc}", None


def _read(location: Path) -> tuple[int, str | None]:
    """(bytes read, text) of a file; text is None for a binary file, read only until detected."""
    with open(location, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        if b"\0" in head:
            return len(head), None
        data = head + handle.read()
    try:
        return len(data), data.decode("utf-8")
    except UnicodeDecodeError:
        return len(data), None
