"""labkit.context: ignore rules (gitignore semantics + size rules), the loader, priority loading, sample."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import checks, tokens
from labkit import context as cx
from labkit.context import loader


def make(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def rules(text: str, **kwargs) -> cx.IgnoreRules:
    return cx.parse_rules(text, warn=False, **kwargs)


def kept(root: Path, text: str) -> set[str]:
    return {f.path for f in cx.walk(root, rules(text)).files}


# ---------------------------------------------------------------------------------------------
# Rules


@pytest.mark.parametrize("text, expected", [
    ("100KB", 100_000), ("100KiB", 102_400), ("1.5 MB", 1_500_000), ("512b", 512), ("2gib", 2 * 1024**3),
])
def test_parse_size_reads_si_and_binary_units(text, expected):
    assert cx.parse_size(text) == expected


@pytest.mark.parametrize("text", ["100", "KB", "100 kilobytes", "-1KB", "1e3KB"])
def test_parse_size_rejects_what_it_cannot_read(text):
    with pytest.raises(cx.ContextError, match="e.g. 100KB"):
        cx.parse_size(text)


GITIGNORE_CASES = {
    "a/x": "", "a/keep": "", "a/sub/y": "",          # a/**: everything inside a/, but not a/ itself
    "b/x": "", "b/keep": "",                         # b/: the directory, so nothing can be re-included
    "c/x": "", "c/keep/f": "",                       # c/*: children, so c/keep/ can be re-included
    "d/x.log": "", "d/keep.log": "",                 # *.log with a negation
    "top.txt": "", "sub/top.txt": "",                # /top.txt is anchored to the root
    "deep/one/two/cache/f": "", "cache": "",         # **/cache/ is directory-only
    "src/main.py": "", "src/main_old.py": "",        # **/*_old.py at any depth
}
GITIGNORE_RULES = "a/**\n!a/keep\nb/\n!b/keep\nc/*\n!c/keep/\n*.log\n!d/keep.log\n/top.txt\n**/cache/\n**/*_old.py\n"
GITIGNORE_KEPT = {"a/keep", "c/keep/f", "d/keep.log", "sub/top.txt", "cache", "src/main.py"}


def test_gitignore_semantics_negation_anchoring_directories_and_double_star(tmp_path):
    make(tmp_path, GITIGNORE_CASES)
    assert kept(tmp_path, GITIGNORE_RULES) == GITIGNORE_KEPT


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_rules_agree_with_git_itself(tmp_path):
    make(tmp_path, GITIGNORE_CASES)
    (tmp_path / ".gitignore").write_text(GITIGNORE_RULES)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    out = subprocess.run(["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
                         check=True, capture_output=True, text=True).stdout
    untracked = {line[3:] for line in out.splitlines()} - {".gitignore"}
    assert untracked == GITIGNORE_KEPT


def test_excluded_directories_are_not_opened_and_name_their_rule(tmp_path):
    make(tmp_path, {"node_modules/pkg/index.js": "x", "src/app.py": "y"})
    walk = cx.walk(tmp_path, rules("# deps\n**/node_modules/\n"))
    assert [f.path for f in walk.files] == ["src/app.py"]
    (excluded,) = walk.excluded
    assert excluded.path == "node_modules" and excluded.directory
    assert excluded.reason == "excluded by line 2 `**/node_modules/`"


def test_the_guides_size_line_is_a_literal_pattern_and_warns_with_its_line(tmp_path):
    make(tmp_path, {"big.json": "[" + "1," * 60_000 + "1]", "odd.json > 100KB": "{}"})
    text = "*.log\n**/*.json > 100KB\n"
    with pytest.warns(cx.IgnoreRuleWarning, match=r"line 2 `\*\*/\*\.json > 100KB`: not gitignore syntax"):
        parsed = cx.parse_rules(text)
    (warning,) = parsed.warnings
    assert warning.line == 2 and "@max-size **/*.json 100KB" in warning.message
    assert {f.path for f in cx.walk(tmp_path, parsed).files} == {"big.json"}  # only the literal name matched


def test_size_rules_exclude_large_matching_files_only(tmp_path):
    make(tmp_path, {"data/big.json": "x" * 101_000, "data/kib.json": "x" * 103_000,
                    "data/small.json": "x" * 10, "notes/big.md": "x" * 200_000})
    assert kept(tmp_path, "@max-size **/*.json 100KB") == {"data/small.json", "notes/big.md"}
    # 100 KiB = 102,400 bytes: the 101,000-byte file is under it, the 103,000-byte one over it
    assert kept(tmp_path, "@max-size **/*.json 100 KiB") == {"data/big.json", "data/small.json", "notes/big.md"}
    excluded = {e.path: str(e.rule) for e in cx.walk(tmp_path, rules("@max-size *.json 100KB")).excluded}
    assert excluded["data/big.json"] == "line 1 `@max-size *.json 100KB`"


def test_a_negation_does_not_lift_a_size_rule(tmp_path):
    make(tmp_path, {"big.json": "x" * 200_000})
    assert kept(tmp_path, "@max-size *.json 100KB\n!big.json") == set()


@pytest.mark.parametrize("line, message", [
    ("!", "not a valid gitignore pattern"),
    ("foo\\", "not a valid gitignore pattern"),
    ("[z-a]", "not a valid gitignore pattern"),
    ("/", "can never match"),
    ("@max-size", "write `@max-size PATTERN SIZE`"),
    ("@max-size *.json", "write `@max-size PATTERN SIZE`"),
    ("@max-size *.json lots", "cannot read the size"),
    ("@max-size !*.json 1KB", "cannot be negated"),
    ("@maxsize *.json 1KB", "unknown directive `@maxsize`"),
    ("*.tmp # scratch files", "no end-of-line comments"),
    ("*.bin < 1KB", "no minimum-size rule"),
])
def test_unusable_lines_warn_naming_line_and_text(line, message):
    parsed = rules(f"# header\n{line}\n*.log")
    (warning,) = parsed.warnings
    assert warning.line == 2 and warning.text == line.strip() and message in warning.message
    assert "*.log" in [r.text for r in parsed.patterns]


def test_strict_mode_raises_the_first_problem():
    with pytest.raises(cx.IgnoreRuleError, match=r"line 3 `!`"):
        cx.parse_rules("*.log\n\n!\n", strict=True)


def test_escaped_at_sign_is_a_pattern_not_a_directive(tmp_path):
    make(tmp_path, {"@notes.md": "x", "b.md": "y"})
    assert kept(tmp_path, "\\@notes.md") == {"b.md"}


def test_read_rules_reports_a_missing_file(tmp_path):
    with pytest.raises(cx.ContextError, match="cannot read the rules file"):
        cx.read_rules(tmp_path / ".claudeignore")


# ---------------------------------------------------------------------------------------------
# Loader


def test_load_counts_files_bytes_and_tokens(tmp_path):
    make(tmp_path, {"CLAUDE.md": "# Project\nUse pytest.\n", "src/a.py": "print('hello')\n"})
    report = cx.load(tmp_path, model="claude-haiku-5-5")
    assert [f.path for f in report.files] == ["CLAUDE.md", "src/a.py"]
    assert report.bytes_read == report.size == sum(len(p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    assert report.tokens == tokens.estimate("# Project\nUse pytest.\n", "claude-haiku-5-5") + tokens.estimate(
        "print('hello')\n", "claude-haiku-5-5")
    assert report.seconds >= 0 and "~" in report.summary()


def test_empty_project_loads_nothing_without_error(tmp_path):
    report = cx.load(tmp_path)
    assert (report.files, report.tokens, report.bytes_read, report.skipped) == ((), 0, 0, ())


@pytest.mark.parametrize("make_root, message", [
    (lambda tmp: tmp / "missing", "does not exist"),
    (lambda tmp: make(tmp, {"f.txt": "x"}) / "f.txt", "is a file, not a project folder"),
])
def test_bad_project_folder_is_a_clear_error(tmp_path, make_root, message):
    with pytest.raises(cx.ContextError, match=message):
        cx.load(make_root(tmp_path))


def test_binary_files_are_detected_read_only_until_detected_and_count_no_tokens(tmp_path):
    make(tmp_path, {"audio.wav": b"RIFF\x00\x00" + b"\x01" * 50_000, "latin1.txt": "café".encode("latin-1"),
                    "text.md": "hello"})
    report = cx.load(tmp_path)
    binary = {f.path: f for f in report.binary_files}
    assert set(binary) == {"audio.wav", "latin1.txt"}
    assert binary["audio.wav"].bytes_read == loader.SNIFF_BYTES < binary["audio.wav"].size
    assert all(f.tokens == 0 for f in binary.values())
    assert report.tokens == tokens.estimate("hello")


def test_unreadable_file_is_skipped_and_reported(tmp_path, monkeypatch):
    make(tmp_path, {"secret.txt": "x", "ok.txt": "y"})
    real_read = loader._read

    def deny(location):
        if location.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(location)

    monkeypatch.setattr(loader, "_read", deny)
    report = cx.load(tmp_path)
    assert [f.path for f in report.files] == ["ok.txt"]
    assert report.skipped == (cx.Skipped("secret.txt", "unreadable file: Permission denied"),)


def test_unreadable_directory_is_skipped_and_reported(tmp_path, monkeypatch):
    make(tmp_path, {"locked/a.txt": "x", "ok.txt": "y"})
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(loader.os, "scandir", scandir)
    report = cx.load(tmp_path)
    assert [f.path for f in report.files] == ["ok.txt"]
    assert report.skipped == (cx.Skipped("locked", "unreadable directory: Permission denied"),)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions, not root")
def test_permission_denied_on_disk_is_skipped(tmp_path):
    make(tmp_path, {"secret.txt": "x"})
    (tmp_path / "secret.txt").chmod(0)
    try:
        report = cx.load(tmp_path)
    finally:
        (tmp_path / "secret.txt").chmod(0o600)
    assert report.skipped == (cx.Skipped("secret.txt", "unreadable file: Permission denied"),)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_loops_do_not_loop(tmp_path):
    make(tmp_path, {"a/f.txt": "x"})
    (tmp_path / "a" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    report = cx.load(tmp_path)
    assert [f.path for f in report.files] == ["a/f.txt"]
    assert set(report.skipped) == {cx.Skipped("a/loop", "directory symlink not followed"),
                                   cx.Skipped("dangling", "broken symlink")}
    followed = cx.load(tmp_path, follow_symlinks=True)
    assert [f.path for f in followed.files] == ["a/f.txt"]
    assert cx.Skipped("a/loop", "symlink loop: this directory was already walked") in followed.skipped


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_special_files_are_skipped_not_read(tmp_path):
    os.mkfifo(tmp_path / "pipe")  # reading it would block forever
    assert cx.load(tmp_path).skipped == (cx.Skipped("pipe", "not a regular file (FIFO, socket or device)"),)


def test_categories_and_missing_files(tmp_path):
    make(tmp_path, {"node_modules/x/index.js": "a", "src/app.py": "b", "data/big.json": "[" + "1," * 60_000 + "1]",
                    "data/small.json": "{}", "README.md": "c"})
    report = cx.load(tmp_path)
    groups = cx.by_category(report)
    assert list(groups) == ["dependencies", "large data (> 100 KB)", "data", "source", "docs"]
    assert groups["large data (> 100 KB)"].files == 1
    assert sum(g.tokens for g in groups.values()) == report.tokens
    after = cx.load(tmp_path, rules("**/node_modules/\n@max-size **/*.json 100KB"))
    assert cx.missing(after, ["src/app.py", "data/big.json", "README.md"]) == ["data/big.json"]


def test_list_dir_is_like_ls_la(tmp_path):
    make(tmp_path, {"a.txt": "x", "sub/b.txt": "y"})
    listing = cx.list_dir(tmp_path)
    assert listing.entries == 4  # a.txt, sub, . and ..
    assert listing.seconds >= 0


# ---------------------------------------------------------------------------------------------
# Priority loading

PROJECT = {
    "CLAUDE.md": "# Config\nSee docs/style.md.\n",
    "docs/style.md": "Style rules.\n",
    "src/pkg/__init__.py": "",
    "src/pkg/writer.py": "from pkg import models\nfrom . import style\n\ndef write():\n    return models.X\n",
    "src/pkg/models.py": "import pkg.base\nX = 1\n",
    "src/pkg/base.py": "B = 2\n",
    "src/pkg/style.py": "S = 3\n",
    "projects/ep1/outline.md": "Outline. Research in research/notes.md.\n" * 5,
    "projects/ep1/research/notes.md": "Notes.\n" * 20,
    "projects/ep1/audio.wav": b"RIFF\x00" + b"x" * 100,
    "background.md": "Other things.\n",
    "logs/run.log": "log line\n",
}


def test_priority_order_config_task_dependencies_background(tmp_path):
    make(tmp_path, PROJECT)
    plan = cx.load_by_priority(tmp_path, 10_000, task=["projects/ep1/outline.md", "src/pkg/writer.py"])
    assert [(p.path, p.tier) for p in plan.loaded] == [
        ("CLAUDE.md", "project config"),
        ("projects/ep1/outline.md", "task"),
        ("src/pkg/writer.py", "task"),
        ("projects/ep1/research/notes.md", "dependency"),  # mentioned, relative to the outline
        ("src/pkg/__init__.py", "dependency"),             # from pkg import models
        ("src/pkg/models.py", "dependency"),
        ("src/pkg/style.py", "dependency"),                # from . import style
        ("src/pkg/base.py", "dependency"),                 # models imports pkg.base: one step further
    ]
    background = {p.path: p.reason for p in plan.left_out}
    assert background == {"background.md": cx.priority.ON_DEMAND, "docs/style.md": cx.priority.ON_DEMAND,
                          "logs/run.log": cx.priority.ON_DEMAND}
    assert plan.used == sum(p.tokens for p in plan.loaded) <= plan.budget


def test_background_fills_the_rest_when_asked(tmp_path):
    make(tmp_path, PROJECT)
    plan = cx.load_by_priority(tmp_path, 10_000, background=True, rules=rules("*.log"))
    assert [p.path for p in plan.loaded][0] == "CLAUDE.md"
    assert {p.tier for p in plan.loaded} == {"project config", "background"}
    assert not plan.left_out


def test_files_over_budget_are_left_out_with_the_reason_and_smaller_ones_still_fit(tmp_path):
    make(tmp_path, PROJECT)
    config = tokens.estimate(PROJECT["CLAUDE.md"])
    notes = tokens.estimate(PROJECT["projects/ep1/research/notes.md"])
    outline = tokens.estimate(PROJECT["projects/ep1/outline.md"])
    budget = config + notes + 1  # room for the notes but not the (larger) outline
    assert outline > notes + 1
    plan = cx.load_by_priority(tmp_path, budget, task=["projects/ep1/outline.md", "projects/ep1/research/notes.md"])
    assert [p.path for p in plan.loaded] == ["CLAUDE.md", "projects/ep1/research/notes.md"]
    reason = {p.path: p.reason for p in plan.left_out}["projects/ep1/outline.md"]
    assert reason == f"over budget: needs {outline:,} tokens, {budget - config:,} left"


def test_budget_smaller_than_the_first_file_is_a_clear_error(tmp_path):
    make(tmp_path, PROJECT)
    with pytest.raises(cx.BudgetError, match=r"smaller than CLAUDE.md \(project config, \d+ tokens\)"):
        cx.load_by_priority(tmp_path, 3)


@pytest.mark.parametrize("budget", [0, -5, 2.5, True, "1000"])
def test_budget_must_be_a_positive_whole_number(tmp_path, budget):
    with pytest.raises(cx.ContextError, match="positive whole number"):
        cx.load_by_priority(tmp_path, budget)


def test_task_files_excluded_binary_or_missing(tmp_path):
    make(tmp_path, PROJECT)
    plan = cx.load_by_priority(tmp_path, 10_000, rules=rules("logs/"),
                               task=["logs/run.log", "projects/ep1/audio.wav", "./background.md"])
    reasons = {p.path: p.reason for p in plan.left_out if p.tier == "task"}
    assert reasons == {"logs/run.log": "excluded by line 1 `logs/`",
                       "projects/ep1/audio.wav": "binary file: no text to load"}
    assert ("background.md", "task") in [(p.path, p.tier) for p in plan.loaded]
    with pytest.raises(cx.ContextError, match="task file 'nope.md' is not in the project"):
        cx.load_by_priority(tmp_path, 10_000, task=["nope.md"])


def test_priority_loading_of_an_empty_project_is_empty(tmp_path):
    plan = cx.load_by_priority(tmp_path, 100)
    assert (plan.loaded, plan.left_out, plan.used) == ((), (), 0)


# ---------------------------------------------------------------------------------------------
# Sample project


def digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_sample_project_is_deterministic_and_reused(tmp_path):
    first = cx.sample_project(seed=3, out=tmp_path / "one")
    second = cx.sample_project(seed=3, out=tmp_path / "two")
    assert digest(first.root) == digest(second.root)
    assert first.files > 1000 and first.size < 50_000_000
    assert all((first.root / path).is_file() for path in first.essential)
    stamp = (first.root / "CLAUDE.md").stat().st_mtime_ns
    again = cx.sample_project(seed=3, out=tmp_path / "one")  # same seed and version: not regenerated
    assert (again.root / "CLAUDE.md").stat().st_mtime_ns == stamp


def test_sample_project_refuses_to_replace_a_foreign_folder(tmp_path):
    make(tmp_path, {"mine/thesis.md": "do not delete"})
    with pytest.raises(cx.ContextError, match="refusing to replace"):
        cx.sample_project(seed=0, out=tmp_path / "mine")
    assert (tmp_path / "mine/thesis.md").read_text() == "do not delete"


# ---------------------------------------------------------------------------------------------
# Lab 01 checks (on a small project shaped like the sample one)

LAB_PROJECT = {
    "CLAUDE.md": "# Config\n", "src/podcast/app.py": "import podcast.models\n", "src/podcast/models.py": "M = 1\n",
    "node_modules/x/index.js": "module.exports = 1;\n", "logs/run.log": "line\n",
    "projects/ep1/outline.md": "Outline.\n", "projects/ep1/audio_output/mix.wav": b"RIFF\x00\x00",
    "projects/ep1/audio_output/render.log": "render\n", "projects/ep1/audio_output/loudness.json": "{}",
    "projects/ep1/audio_output/mix_notes.md": "Notes.\n", "data/big.json": "[" + "1," * 60_000 + "1]",
}
LAB_ESSENTIAL = ["CLAUDE.md", "src/podcast/app.py", "src/podcast/models.py", "projects/ep1/outline.md",
                 "projects/ep1/audio_output/mix_notes.md"]
LAB_RULES = ("**/node_modules/\n*.log\nprojects/*/audio_output/*\n!projects/*/audio_output/mix_notes.md\n"
             "@max-size **/*.json 100KB\n")


@pytest.fixture
def lab_root(tmp_path):
    return str(make(tmp_path, LAB_PROJECT))


def test_check_q1_baseline_tokens(lab_root):
    report = cx.load(lab_root, model="claude-haiku-5-5")
    assert checks.evaluate("01.q1", report.tokens, root=lab_root, model="claude-haiku-5-5").passed
    wrong = checks.evaluate("01.q1", report.bytes_read, root=lab_root, model="claude-haiku-5-5")
    assert not wrong.passed and "bytes" in wrong.message


@pytest.mark.parametrize("text, message", [
    (LAB_RULES.replace("@max-size **/*.json 100KB", "**/*.json > 100KB"), "line 5 `**/*.json > 100KB`"),
    (LAB_RULES.replace("@max-size **/*.json 100KB\n", ""), "size rule"),
    (LAB_RULES.replace("!projects/*/audio_output/mix_notes.md\n", ""), "negation"),
    (LAB_RULES.replace("audio_output/*", "audio_output/"), "cannot re-include"),
    (LAB_RULES.replace("**/node_modules/\n", ""), "node_modules/x/index.js"),
])
def test_check_q2_hints_point_at_the_problem(lab_root, text, message):
    result = checks.evaluate("01.q2", text, root=lab_root, essential=LAB_ESSENTIAL, model="claude-haiku-5-5")
    assert not result.passed and message in result.message


def test_check_q2_passes_good_rules(lab_root):
    assert checks.evaluate("01.q2", LAB_RULES, root=lab_root, essential=LAB_ESSENTIAL, model="claude-haiku-5-5").passed


def test_check_q3_improvement(lab_root):
    before, after = [0.010, 0.011, 0.030], [0.002, 0.002, 0.004]
    tokens_saved = 1 - cx.load(lab_root, rules(LAB_RULES)).tokens / cx.load(lab_root).tokens
    context = dict(root=lab_root, rules_text=LAB_RULES, model="claude-haiku-5-5", before_seconds=before,
                   after_seconds=after)
    answer = {"tokens": tokens_saved, "load_time": 1 - 0.002 / 0.011}
    assert checks.evaluate("01.q3", answer, **context).passed
    mean = {"tokens": tokens_saved, "load_time": 1 - (0.008 / 3) / (0.051 / 3)}
    assert "median" in checks.evaluate("01.q3", mean, **context).message
    percent = {"tokens": tokens_saved * 100, "load_time": 50}
    assert "percentages" in checks.evaluate("01.q3", percent, **context).message



def test_check_q3_with_the_graders_own_timings_allows_a_tolerance(lab_root):
    """Graded, the timings are the grader's: a learner's honest saving from another run is near, not equal."""
    before, after = [0.010, 0.011, 0.030], [0.002, 0.002, 0.004]
    tokens_saved = 1 - cx.load(lab_root, rules(LAB_RULES)).tokens / cx.load(lab_root).tokens
    context = dict(root=lab_root, rules_text=LAB_RULES, model="claude-haiku-5-5", before_seconds=before,
                   after_seconds=after, tolerance=0.1)
    measured = 1 - 0.002 / 0.011
    assert checks.evaluate("01.q3", {"tokens": tokens_saved, "load_time": measured - 0.09}, **context).passed
    far = checks.evaluate("01.q3", {"tokens": tokens_saved, "load_time": measured - 0.2}, **context)
    assert not far.passed and "grader's own loads" in far.message

def test_check_q4_priority_order(lab_root):
    context = dict(root=lab_root, rules_text=LAB_RULES, budget=1000, task=["src/podcast/app.py"],
                   model="claude-haiku-5-5")
    assert checks.evaluate("01.q4", ["CLAUDE.md", "src/podcast/app.py", "src/podcast/models.py"], **context).passed
    swapped = checks.evaluate("01.q4", ["CLAUDE.md", "src/podcast/models.py", "src/podcast/app.py"], **context)
    assert not swapped.passed and "order" in swapped.message


def test_a_run_of_stars_is_one_star_and_cannot_stall_a_load(lab_root):
    """`*` * 30 once made pathspec's regex backtrack for minutes on a single file name."""
    import time

    parsed = rules("*" * 30 + "b\n@max-size ****.json 1KB")
    assert [r.text for r in parsed.patterns] == ["*b"] and parsed.size_rules[0].pattern == "*.json"
    assert "read as `*b`" in parsed.warnings[0].message
    started = time.process_time()
    cx.load(lab_root, parsed)
    assert time.process_time() - started < 5
