"""Hierarchical memory: what is always loaded, what is loaded for the task, what only on demand.

The guide's "Hierarchical Context Loading Strategy" (Section 1) ranks context as project
configuration (always loaded first), task-specific files, dependencies, and background "loaded
on-demand". Its hooks, though, measure *every* `.md` file of `.claude/memory` (Section 7): loading
everything is the baseline this module is compared against.

- `always`: the project brief (a CLAUDE.md): loaded into every request, so keep it short.
- `task`: material for one task (an episode's research notes), loaded while that task is worked on.
- `background`: everything else (metrics logs, listener feedback, archives), loaded for a request
  only when its instruction names one of the item's trigger words.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from .tracker import ContextError

ALWAYS, TASK, BACKGROUND = "always", "task", "background"
TIERS = (ALWAYS, TASK, BACKGROUND)


@dataclasses.dataclass(frozen=True)
class MemoryItem:
    """One memory file: its `key`, tier and text; `task` for task-tier items, `triggers` for background."""

    key: str
    tier: str
    text: str
    task: str | None = None
    triggers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ContextError(f"memory item {self.key!r}: unknown tier {self.tier!r}, "
                               f"choose one of {', '.join(TIERS)}")
        if not self.text.strip():
            raise ContextError(f"memory item {self.key!r} is empty")
        if self.tier == TASK and not self.task:
            raise ContextError(f"task-tier memory item {self.key!r} needs the task it belongs to")
        if self.tier == BACKGROUND and not self.triggers:
            raise ContextError(f"background memory item {self.key!r} needs trigger words, "
                               "or it could never be loaded on demand")

    def triggered_by(self, instruction: str) -> bool:
        lowered = instruction.lower()
        return any(re.search(rf"\b{re.escape(word.lower())}", lowered) for word in self.triggers)


class MemoryStore:
    """A project's memory items, by tier, and the two ways of loading them."""

    def __init__(self, items: Iterable[MemoryItem]) -> None:
        self.items = tuple(items)
        keys = [item.key for item in self.items]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ContextError(f"memory keys must be unique: {', '.join(duplicates)} appear more than once")

    def load(self, task: str, instruction: str) -> list[MemoryItem]:
        """Hierarchical loading: the always tier, `task`'s items, and background items the instruction
        asks for, in that order (most stable first, which also suits prompt caching)."""
        return ([i for i in self.items if i.tier == ALWAYS]
                + [i for i in self.items if i.tier == TASK and i.task == task]
                + [i for i in self.items if i.tier == BACKGROUND and i.triggered_by(instruction)])

    def everything(self) -> list[MemoryItem]:
        """Every item, whatever the task: what loading the whole memory folder does."""
        return list(self.items)

    def tier(self, name: str) -> list[MemoryItem]:
        return [i for i in self.items if i.tier == name]
