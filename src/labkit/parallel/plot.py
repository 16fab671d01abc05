"""A timeline (Gantt chart) of a run: when each task started and finished."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .results import Results


def timeline(runs: Results | Iterable[Results], ax: Any = None, title: str | None = None) -> Any:
    """Draw one bar per task from its start to its end (seconds since the run began: offline the
    modelled part, which the local part would not visibly change; live, wall seconds),
    the first task on top; failed tasks are red and a task that needed retries is labelled with its
    number of attempts. Several `Results` (the stages of `run_stages`) share one chart. Returns the axes."""
    import matplotlib.pyplot as plt

    results = [runs] if isinstance(runs, Results) else list(runs)
    tasks = [r for run in results for r in run if r.start is not None]
    simulated = all(run.simulated for run in results)  # then the local part is invisibly small
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.4 * len(tasks) + 1.2))
    for row, task in enumerate(tasks):
        colour = "tab:red" if task.error is not None else "tab:blue"
        start, end = task.start, task.end
        assert start is not None and end is not None
        left, right = start.seconds, end.seconds
        ax.barh(row, right - left, left=left, color=colour, alpha=0.8)
        if task.attempts > 1:
            ax.annotate(f" {task.attempts} attempts", (right, row), va="center", fontsize=8)
    ax.set_yticks(range(len(tasks)), [t.name for t in tasks])
    ax.invert_yaxis()
    ax.set_xlabel("modelled seconds (simulated service)" if simulated else "wall seconds (live)")
    if title:
        ax.set_title(title)
    return ax
