"""Thinking levels as valid requests, a sweep over them, and a routing policy by task class (activity 5).

The guide's "think / think hard / ultrathink" no longer set budgets. Today each model takes one of:
adaptive thinking with `output_config.effort` (4.6 and later), a manual `budget_tokens` (at least
1,024 and below `max_tokens`; a 400 on 4.7 and later), thinking turned off, or neither (always on).
`plan(model, level)` turns one course-wide level into the fields that model accepts, from its
profile in `data/models.yaml`, and raises a ThinkingError before an invalid request is sent.

    LEVELS = off < low < medium < high < xhigh < max, and "default": thinking on at the model's own
             default effort (adaptive with no effort named; medium on Haiku and Opus 5.5, high on
             most others): the honest baseline, not "always max"

`sweep(client, tasks, levels)` runs every task at every level and returns one tidy row per call:
output and thinking tokens and cost (exact: the learner's requests decide them), seconds (modelled
offline, live with a key), quality (the simulator's model offline) and whether thinking used up
`max_tokens` and left no text (quality 0). A `Policy` maps each task class to a level: the rule
table a learner edits, judged by `evaluate` against the baseline with paired intervals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from . import cost, models, quality
from .errors import UsageError

__all__ = ["LEVELS", "MANUAL_BUDGETS", "Policy", "ThinkingError", "evaluate", "plan", "sweep"]

LEVELS = ("off", "low", "medium", "high", "xhigh", "max")
DEFAULT = "default"
# Manual budgets for models that only take `budget_tokens` (ASSUMPTION: the course's mapping; the
# docs say only "start with the minimum budget and increase incrementally").
MANUAL_BUDGETS = {"low": 1024, "medium": 4096, "high": 10_000, "xhigh": 16_000, "max": 31_999}
MIN_BUDGET = 1024


class ThinkingError(UsageError):
    """A thinking level this model cannot take, or a request that would be a 400."""


def plan(model: str, level: str, *, max_tokens: int) -> dict[str, Any]:
    """The request fields (`max_tokens`, and `thinking` / `output_config` as needed) for `level` on `model`."""
    if level != DEFAULT and level not in LEVELS:
        raise ThinkingError(f"level is one of {', '.join((*LEVELS, DEFAULT))}, got {level!r}")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise ThinkingError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    profile = models.profile(model)
    modes, efforts = profile.thinking_modes, profile.capabilities.effort
    fields: dict[str, Any] = {"max_tokens": max_tokens}
    if level == DEFAULT:
        if "adaptive" in modes:
            return {**fields, "thinking": {"type": "adaptive"}}
        return plan(model, "medium", max_tokens=max_tokens) if "enabled" in modes else fields
    if level == "off":
        if "disabled" in modes:
            return {**fields, "thinking": {"type": "disabled"}}
        if "adaptive" not in modes:  # an older model thinks only when asked
            return fields
        raise ThinkingError(f"{profile.id} always thinks: 'off' is not available (its lowest level is "
                            f"{efforts[0] if efforts else 'its default'!r})")
    if "adaptive" in modes:
        if level not in efforts:
            raise ThinkingError(f"{profile.id} takes effort {', '.join(efforts) or '(none)'}, not {level!r}")
        return {**fields, "thinking": {"type": "adaptive"}, "output_config": {"effort": level}}
    if "enabled" in modes:
        budget = MANUAL_BUDGETS[level]
        if budget >= max_tokens:
            raise ThinkingError(f"{level!r} on {profile.id} is a budget of {budget:,} thinking tokens, which "
                                f"must be below max_tokens ({max_tokens:,}): raise max_tokens or lower the level")
        return {**fields, "thinking": {"type": "enabled", "budget_tokens": budget}}
    raise ThinkingError(f"{profile.id} has no thinking to set (modes: {', '.join(modes) or 'none'})")


def sweep(client: Any, tasks: Sequence[quality.Task], levels: Sequence[str], *, model: str,
          max_tokens: int = 16_000, repeats: int = 1, progress: bool = True, clock: Any = None) -> Any:
    """Every task at every level (`repeats` times, each repeat a distinct request): a pandas DataFrame
    with one row per call. `seconds` is read from `clock` (default: the configured one, which
    `labkit.client()` answers on; pass the simulator's clock for a client on a simulator of its own)."""
    import pandas as pd
    from tqdm.auto import tqdm

    from . import timing

    if repeats < 1:
        raise UsageError(f"repeats must be at least 1, got {repeats!r}")
    requests = [(task, level, r) for task in tasks for level in levels for r in range(repeats)]
    fields = {level: plan(model, level, max_tokens=max_tokens) for level in levels}  # fail before any call
    rows, timer = [], timing.Timer("sweep", clock=clock)
    for task, level, r in tqdm(requests, desc="sweep", unit="call", disable=not progress):
        text = task.prompt if r == 0 else f"{task.prompt} (take {r + 1})"
        with timer:
            message = client.messages.create(model=model, messages=[{"role": "user", "content": text}],
                                             **fields[level])
        answer = quality.answer_text(message)
        usage = message.usage
        details = getattr(usage, "output_tokens_details", None)
        rows.append({
            "task": task.id, "class": task.kind, "split": task.split, "level": level, "repeat": r,
            "output_tokens": usage.output_tokens,
            "thinking_tokens": getattr(details, "thinking_tokens", 0) or 0,
            "cost": cost.price(usage, model).total, "seconds": timer.last,
            "exhausted": message.stop_reason == "max_tokens" and not answer,
            "quality": quality.score_task(task, answer),
        })
    return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class Policy:
    """A level per task class: the decision table. Classes it does not name get `otherwise`."""

    levels: Mapping[str, str]
    otherwise: str = DEFAULT

    def __post_init__(self) -> None:
        unknown = sorted(set(self.levels) - set(quality.CLASSES))
        if unknown:
            raise UsageError(f"unknown task class(es) {', '.join(unknown)}: the classes are "
                             f"{', '.join(quality.CLASSES)}")
        for level in (*self.levels.values(), self.otherwise):
            if level != DEFAULT and level not in LEVELS:
                raise ThinkingError(f"level is one of {', '.join((*LEVELS, DEFAULT))}, got {level!r}")

    def level(self, task: quality.Task) -> str:
        return self.levels.get(task.kind, self.otherwise)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A policy against the default-effort baseline on the same calls."""

    seconds_saved: float         # 1 - policy seconds / baseline seconds (modelled offline)
    output_tokens_saved: float   # 1 - policy output tokens / baseline output tokens (exact)
    comparison: quality.Comparison

    def met(self, saving: float = 0.30, margin: float = 0.02) -> bool:
        return bool(self.seconds_saved >= saving and self.output_tokens_saved >= saving
                    and self.comparison.kept(margin))


def evaluate(frame: Any, policy: Policy, tasks: Sequence[quality.Task] | None = None, *,
             baseline: str = DEFAULT) -> Verdict:
    """Judge `policy` on a sweep's rows (which must hold every level it uses and `baseline`): the
    rows of the level it picks for each task against the baseline level's rows, pair by pair.
    `tasks`: those to judge it on (default: every task in the rows)."""
    import pandas as pd

    frame = pd.DataFrame(frame)  # a DataFrame, or its rows as records (a lab's exported context)
    if tasks is None:
        firsts = frame.drop_duplicates("task")
        tasks = [quality.Task(row["task"], row["class"], "", (), row["split"]) for _, row in firsts.iterrows()]
    chosen, base_rows = [], []
    for task in tasks:
        mine = frame[(frame["task"] == task.id) & (frame["level"] == policy.level(task))]
        base = frame[(frame["task"] == task.id) & (frame["level"] == baseline)]
        if mine.empty or base.empty or len(mine) != len(base):
            raise UsageError(f"the sweep has no matching rows for task {task.id} at level "
                             f"{policy.level(task)!r} and at {baseline!r}: sweep those levels first")
        chosen.append(mine.sort_values("repeat"))
        base_rows.append(base.sort_values("repeat"))
    ours, theirs = pd.concat(chosen), pd.concat(base_rows)
    by_id = {t.id: t for t in tasks}
    paired_tasks = [by_id[row] for row in ours["task"]]
    comparison = quality.compare(paired_tasks, list(theirs["quality"]), list(ours["quality"]))
    return Verdict(float(1 - ours["seconds"].sum() / theirs["seconds"].sum()),
                   float(1 - ours["output_tokens"].sum() / theirs["output_tokens"].sum()), comparison)
