"""Ignore rules for loading a project into context: gitignore lines plus explicit size limits.

Why a module of its own: the guide's `.claudeignore` block mixes real gitignore patterns with a line
that is not gitignore at all (`**/*.json > 100KB`). A gitignore reader takes that line as a literal
file name (`<anything>.json > 100KB`), matches nothing and says nothing. Here the gitignore part is
matched by `pathspec.GitIgnoreSpec` (negation `!`, anchoring `/x`, directory rules `dir/`, `**`,
`#` comments and `\\` escapes, as git does), size limits get a syntax of their own, and every line
that cannot do what it seems to say produces a warning that names its line number and text.

The syntax, one rule per line:

    *.log                        a gitignore pattern (any line that is not a directive)
    !logs/errors_summary.log     negation: re-include what an earlier line excluded
    @max-size **/*.json 100KB    exclude files matching the (gitignore) pattern when larger than 100 KB

`@max-size PATTERN SIZE`: PATTERN is one gitignore pattern without spaces; SIZE is a number and a
unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), in any letter case. Size
rules apply to files the patterns keep; a negation does not lift them. A file whose name really
starts with `@` is matched by escaping it: `\\@name`.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import pathspec

from .errors import ContextError, IgnoreRuleError

SIZE_DIRECTIVE = "@max-size"
UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
# Runs of 3+ unescaped stars: git reads them as one `*`; left as they are, pathspec makes a regex whose
# backtracking takes minutes on one file name (`` `*` * 30 + "b" ``).
_STAR_RUN = re.compile(r"(?<!\\)\*{3,}")
_SIZE = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z]+)$")
# A pattern followed by a comparison, the way the guide writes a size limit: `**/*.json > 100KB`.
_COMPARISON = re.compile(r"^(?P<pattern>\S.*?)\s*(?P<op>[<>]=?)\s*(?P<size>\d+(?:\.\d+)?\s*[A-Za-z]*)\s*$")


class IgnoreRuleWarning(UserWarning):
    """A rules line that is ignored or does not do what it seems to say."""


@dataclasses.dataclass(frozen=True)
class Rule:
    """One usable line of the rules: its 1-based line number and its text."""

    line: int
    text: str

    def __str__(self) -> str:
        return f"line {self.line} `{self.text}`"


@dataclasses.dataclass(frozen=True)
class SizeRule(Rule):
    """`@max-size PATTERN SIZE`: files matching `pattern` larger than `max_bytes` are excluded."""

    pattern: str = ""
    max_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class RuleWarning:
    """Why a line is ignored or suspicious, naming the line so it can be fixed."""

    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} `{self.text}`: {self.message}"


def parse_size(text: str) -> int:
    """Bytes in a size such as `100KB`, `1.5 MiB` or `512B` (KB = 1000 bytes, KiB = 1024)."""
    match = _SIZE.match(text.strip())
    unit = match and UNITS.get(match["unit"].lower())
    if not match or unit is None:
        raise ContextError(f"cannot read the size {text!r}: write a number and a unit, e.g. 100KB "
                           "(units: B, KB, MB, GB, KiB, MiB, GiB)")
    return round(float(match["number"]) * unit)


class IgnoreRules:
    """Parsed rules: which directories to skip, which files to leave out, and why (the line).

    Directories are tested the way git tests them (a directory rule `dir/` against `dir/`, any other
    pattern against `dir`), so the walk can skip an excluded directory without opening it; as in git,
    nothing inside an excluded directory can be re-included. Files are tested with the same
    `GitIgnoreSpec`, then against the size rules.
    """

    def __init__(self, patterns: Iterable[Rule] = (), size_rules: Iterable[SizeRule] = (),
                 problems: Iterable[RuleWarning] = ()) -> None:
        self.patterns = tuple(patterns)
        self.size_rules = tuple(size_rules)
        self.warnings = tuple(problems)
        self._spec = pathspec.GitIgnoreSpec.from_lines([rule.text for rule in self.patterns])
        self._size_specs = [pathspec.GitIgnoreSpec.from_lines([rule.pattern]) for rule in self.size_rules]

    def excluding_dir(self, path: str) -> Rule | None:
        """The rule that excludes directory `path` (relative, `/`-separated), or None."""
        for rule, pattern in zip(reversed(self.patterns), reversed(self._spec.patterns)):
            directory_only = rule.text.rstrip().endswith("/")
            if pattern.match_file(f"{path}/" if directory_only else path) is not None:
                return rule if pattern.include else None
        return None

    def excluding_file(self, path: str, size: int | None = None) -> Rule | None:
        """The rule that excludes file `path` (relative, `/`-separated) of `size` bytes, or None."""
        result = self._spec.check_file(path)
        if result.include:
            return self.patterns[result.index]
        if size is not None:
            for rule, spec in zip(self.size_rules, self._size_specs):
                if size > rule.max_bytes and spec.match_file(path):
                    return rule
        return None

    def __len__(self) -> int:
        return len(self.patterns) + len(self.size_rules)

    def __repr__(self) -> str:
        return (f"IgnoreRules({len(self.patterns)} patterns, {len(self.size_rules)} size rules, "
                f"{len(self.warnings)} warnings)")


def parse_rules(text: str | Iterable[str], *, strict: bool = False, warn: bool = True) -> IgnoreRules:
    """Rules from the text of a `.claudeignore`-style file (a string, or its lines).

    Lines that cannot be used are skipped, and lines that do not do what they seem to say are kept
    as gitignore would keep them; both produce a `RuleWarning` in `rules.warnings`, also issued as a
    Python `IgnoreRuleWarning` unless `warn=False`. With `strict=True` the first one raises
    `IgnoreRuleError` instead.
    """
    lines = text.splitlines() if isinstance(text, str) else list(text)
    patterns: list[Rule] = []
    size_rules: list[SizeRule] = []
    problems: list[RuleWarning] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        problem: str | None
        if line.startswith("@"):
            rule, problem = _directive(number, line)
            if rule is not None:
                size_rules.append(rule)
        else:
            line, collapsed = _STAR_RUN.subn("*", line)
            keep, problem = _pattern(line)
            if keep:
                patterns.append(Rule(number, line))
            if collapsed and problem is None:
                problem = f"three or more `*` in a row match what one `*` matches, as in git: read as `{line}`"
        if problem is not None:
            warning = RuleWarning(number, line.strip(), problem)
            if strict:
                raise IgnoreRuleError(str(warning))
            problems.append(warning)
            if warn:
                warnings.warn(str(warning), IgnoreRuleWarning, stacklevel=2)
    return IgnoreRules(patterns, size_rules, problems)


def read_rules(path: str | Path, *, strict: bool = False, warn: bool = True) -> IgnoreRules:
    """Rules from a file such as `.claudeignore` (see `parse_rules`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ContextError(f"cannot read the rules file {str(path)!r}: {exc.strerror or exc}") from None
    return parse_rules(text, strict=strict, warn=warn)


def _pattern(line: str) -> tuple[bool, str | None]:
    """(keep the line as a gitignore pattern?, a warning or None)."""
    try:
        compiled = pathspec.GitIgnoreSpec.from_lines([line]).patterns[0]
    except Exception as exc:  # pathspec raises its own error types, and re.error for bad ranges
        return False, f"not a valid gitignore pattern ({exc}); the line is skipped"
    if compiled.include is None:
        return False, "this pattern can never match a file; the line is skipped"
    comparison = _COMPARISON.match(line)
    if comparison:
        if comparison["op"].startswith(">"):
            advice = f"for a size limit write `{SIZE_DIRECTIVE} {comparison['pattern']} {comparison['size']}`"
        else:
            advice = "the kit has no minimum-size rule"
        return True, (f"not gitignore syntax: gitignore reads the whole line as one literal file name, "
                      f"so it excludes nothing by size; {advice}")
    if " #" in line:
        return True, "gitignore has no end-of-line comments: the ` #…` part is matched as file-name text"
    return True, None


def _directive(number: int, line: str) -> tuple[SizeRule | None, str | None]:
    """A parsed `@max-size` rule, or (None, why not)."""
    name, *args = line.split()
    if name != SIZE_DIRECTIVE:
        return None, (f"unknown directive `{name}`: the kit knows `{SIZE_DIRECTIVE} PATTERN SIZE`; "
                      f"to match a file whose name starts with @, write `\\{name}`")
    usage = f"write `{SIZE_DIRECTIVE} PATTERN SIZE`, e.g. `{SIZE_DIRECTIVE} **/*.json 100KB`"
    if len(args) == 3 and args[2].isalpha():  # `@max-size x 100 KB`: a number and a unit
        args = [args[0], args[1] + args[2]]
    if len(args) != 2:
        return None, f"{usage}; the line is skipped"
    pattern, size = _STAR_RUN.sub("*", args[0]), args[1]
    try:
        max_bytes = parse_size(size)
    except ContextError as exc:
        return None, f"{exc}; the line is skipped"
    negated = pattern.startswith("!")
    if negated or not _pattern(pattern)[0]:
        what = "a size rule cannot be negated" if negated else f"`{pattern}` is not a usable gitignore pattern"
        return None, f"{what}; the line is skipped"
    return SizeRule(number, line.strip(), pattern=pattern, max_bytes=max_bytes), None
