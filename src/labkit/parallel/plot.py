"""A timeline (Gantt chart) of a run: when each task started and finished."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import timing
from .results import Results


def timeline(runs: Results | Iterable[Results], ax: Any = None, title: str | None = None) -> Any:
    """Draw one bar per task from its start to its end (API-equivalent seconds since the run began),
    the first task on top; failed tasks are red and a task that needed retries is labelled with its
    number of attempts. Several `Results` (the stages of `run_stages`) share one chart. Returns the axes."""
    import matplotlib.pyplot as plt

    results = [runs] if isinstance(runs, Results) else list(runs)
    tasks = [r for run in results for r in run if r.started is not None]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.4 * len(tasks) + 1.2))
    for row, task in enumerate(tasks):
        colour = "tab:red" if task.error is not None else "tab:blue"
        ax.barh(row, task.seconds, left=task.started, color=colour, alpha=0.8)
        if task.attempts > 1:
            ax.annotate(f" {task.attempts} attempts", (task.finished, row), va="center", fontsize=8)
    ax.set_yticks(range(len(tasks)), [t.name for t in tasks])
    ax.invert_yaxis()
    ax.set_xlabel(timing.unit())
    if title:
        ax.set_title(title)
    return ax
