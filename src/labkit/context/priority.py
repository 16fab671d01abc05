"""Priority loading within a token budget: the guide's hierarchy, made concrete.

The guide (Section 1, "Hierarchical Context Loading Strategy") orders context as: CLAUDE.md (project
config, always first), the current task's files, their referenced dependencies, then background
context loaded on demand. It gives no budget and no rule for a file that does not fit. Here:

- tiers are filled in that order; dependencies are found by following the task files' Python
  imports and the project paths their text mentions, nearest first (breadth-first);
- a file that does not fit the remaining budget is left out with the reason, and smaller files
  after it may still fit (greedy);
- background files are left out ("on demand") unless `background=True` fills the rest of the budget;
- the first file must fit: a budget smaller than it raises `BudgetError`, because a context without
  its project config is not a smaller context but a broken one.
"""

from __future__ import annotations

import ast
import dataclasses
import posixpath
import re
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import BudgetError, ContextError
from .loader import LoadReport, load, project_root
from .rules import IgnoreRules

TIERS = ("project config", "task", "dependency", "background")
ON_DEMAND = "background: loaded on demand"
_PATH_MENTION = re.compile(r"[\w.\-/]+\.[A-Za-z0-9]+")


@dataclasses.dataclass(frozen=True)
class Placement:
    """A file's place in the plan: its tier, its tokens, and why it was left out ("" if loaded)."""

    path: str
    tier: str
    tokens: int
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class PriorityLoad:
    """What was loaded, in order, and what was left out and why, against a token budget."""

    budget: int
    loaded: tuple[Placement, ...]
    left_out: tuple[Placement, ...]

    @property
    def used(self) -> int:
        return sum(p.tokens for p in self.loaded)

    def tier_tokens(self) -> dict[str, int]:
        """Tokens loaded per tier, in priority order."""
        return {tier: sum(p.tokens for p in self.loaded if p.tier == tier) for tier in TIERS}

    def summary(self) -> str:
        return (f"{len(self.loaded)} files loaded, {self.used:,} of {self.budget:,} tokens used; "
                f"{len(self.left_out)} left out")


def load_by_priority(root: str | Path, budget: int, *, task: Sequence[str] = (),
                     rules: IgnoreRules | None = None, config_files: Sequence[str] = ("CLAUDE.md",),
                     background: bool = False, model: str | None = None,
                     report: LoadReport | None = None) -> PriorityLoad:
    """Load `root`'s files by priority within `budget` tokens (see the module docstring).

    `task` lists the current task's files (paths relative to `root`). Pass the `report` of an
    earlier `load(root, rules)` to reuse it instead of walking again.
    """
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise ContextError(f"the budget must be a positive whole number of tokens, not {budget!r}")
    base = project_root(root)
    report = report or load(base, rules, model=model)
    entries = {entry.path: entry for entry in report.text_files}
    candidates: list[tuple[str, str]] = [(path, "project config") for path in config_files if path in entries]
    left_out: list[Placement] = []
    task_paths: list[str] = []
    for raw in task:
        path = _normal(raw)
        if path in entries:
            task_paths.append(path)
            candidates.append((path, "task"))
        else:
            left_out.append(Placement(path, "task", 0, _why_missing(report, path, raw)))
    seen = {path for path, _ in candidates}
    for path in _dependencies(base, task_paths, set(entries)):
        if path not in seen:
            seen.add(path)
            candidates.append((path, "dependency"))
    candidates += [(path, "background") for path in sorted(entries) if path not in seen]

    if candidates and entries[candidates[0][0]].tokens > budget:
        first, tier = candidates[0]
        raise BudgetError(f"the budget of {budget:,} tokens is smaller than {first} ({tier}, "
                          f"{entries[first].tokens:,} tokens), which must be loaded first: "
                          "raise the budget or trim that file")
    loaded: list[Placement] = []
    used = 0
    for path, tier in candidates:
        cost = entries[path].tokens
        if tier == "background" and not background:
            left_out.append(Placement(path, tier, cost, ON_DEMAND))
        elif used + cost <= budget:
            loaded.append(Placement(path, tier, cost))
            used += cost
        else:
            left_out.append(Placement(path, tier, cost, f"over budget: needs {cost:,} tokens, "
                                                        f"{budget - used:,} left"))
    return PriorityLoad(budget, tuple(loaded), tuple(left_out))


def _normal(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")).lstrip("/")


def _why_missing(report: LoadReport, path: str, raw: str) -> str:
    """Why a task file is not loadable: excluded (by which rule), binary, skipped; or an error."""
    for item in report.excluded:
        if path == item.path or (item.directory and path.startswith(item.path + "/")):
            return item.reason
    for entry in report.binary_files:
        if entry.path == path:
            return "binary file: no text to load"
    for item in report.skipped:
        if path == item.path or path.startswith(item.path + "/"):
            return item.reason
    raise ContextError(f"task file {raw!r} is not in the project {str(report.root)!r}: "
                       "give paths relative to the project folder")


def _dependencies(root: Path, start: Iterable[str], known: set[str]) -> list[str]:
    """Files the `start` files reference, transitively, nearest first (breadth-first)."""
    modules = _module_index(known)
    order: list[str] = []
    seen = set(start)
    queue = deque(start)
    while queue:
        path = queue.popleft()
        for dependency in _references(root, path, known, modules):
            if dependency not in seen:
                seen.add(dependency)
                order.append(dependency)
                queue.append(dependency)
    return order


def _references(root: Path, path: str, known: set[str], modules: dict[str, str]) -> list[str]:
    """Project files that `path` imports (Python) or mentions by path (any text), in order."""
    try:
        text = (root / path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    folder = posixpath.dirname(path)
    found: list[str] = []
    if path.endswith(".py"):
        found += _imports(text, folder, known, modules)
    for mention in _PATH_MENTION.findall(text):
        for candidate in (posixpath.normpath(posixpath.join(folder, mention)), posixpath.normpath(mention)):
            if candidate in known and candidate != path:
                found.append(candidate)
                break
    return list(dict.fromkeys(found))


def _module_index(known: set[str]) -> dict[str, str]:
    """Dotted module name -> file, for every suffix of every Python file's path (shortest path wins)."""
    index: dict[str, str] = {}
    for path in sorted(known, key=lambda p: (len(p), p)):
        if not path.endswith(".py"):
            continue
        parts = path[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        for start in range(len(parts)):
            index.setdefault(".".join(parts[start:]), path)
    return index


def _imports(text: str, folder: str, known: set[str], modules: dict[str, str]) -> list[str]:
    """Project files a Python file imports: absolute imports by module name, relative ones by folder."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [modules[alias.name] for alias in node.names if alias.name in modules]
        elif isinstance(node, ast.ImportFrom) and node.level:
            parts = folder.split("/") if folder else []
            parts = parts[:len(parts) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            stems = ["/".join(parts)] + ["/".join(parts + [alias.name]) for alias in node.names]
            found += [c for stem in stems for c in (f"{stem}.py", f"{stem}/__init__.py") if c in known]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names]
            found += [modules[name] for name in names if name in modules]
    return found
