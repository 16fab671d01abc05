"""The public entry points: run independent tasks, dependent stages, or a graph, sync or async.

Every function takes the same options:

- `concurrency` (default 8): at most this many tasks in flight at once;
- `retry` (default `Retry()`: 4 attempts, the SDK's back-off, honouring `retry-after`);
- `timeout`: each task's whole budget in seconds of the run's clock, retries included (None: no limit);
- `limiter`: a `RateLimiter` every attempt passes through (None: no client-side pacing);
- `progress` (default True): a tqdm bar, a widget in notebooks; `desc` labels it;
- `clock`: the clock every time is read on and every wait waits on (default: the configured one).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..clock import Clock
from .engine import Engine, RunClock, run_graph as _run_graph, run_tasks as _run_tasks
from .errors import ParallelError
from .limits import RateLimiter
from .loop import wait_for
from .results import Results
from .retry import Retry
from .tasks import Task, as_task

DEFAULT_CONCURRENCY = 8
DEFAULT_RETRY = Retry()

TaskLike = Task | Callable[..., Any]
Stage = Iterable[TaskLike] | Callable[[Results], Iterable[TaskLike]]


async def arun(tasks: Iterable[TaskLike], *, concurrency: int = DEFAULT_CONCURRENCY, retry: Retry = DEFAULT_RETRY,
               timeout: float | None = None, limiter: RateLimiter | None = None, progress: bool = True,
               desc: str = "tasks", clock: Clock | None = None, _run_clock: RunClock | None = None) -> Results:
    """Run independent tasks (functions, sync or async, or `Task`s) and return their results in
    input order; each task's error is captured in its result, never raised."""
    items = [as_task(t) for t in tasks]
    for task in items:
        if task.after:
            raise ParallelError(f"{task!r} has after= dependencies: run it with run_graph()")
    engine = Engine(concurrency=concurrency, retry=retry, timeout=timeout, limiter=limiter,
                    progress=progress, desc=desc, total=len(items), clock=_run_clock or RunClock(clock))
    return await _run_tasks(items, engine)


def run(tasks: Iterable[TaskLike], **options: Any) -> Results:
    """`arun` for ordinary code (scripts, notebook cells): blocks until every task is done."""
    return wait_for(arun(tasks, **options))


async def amap(fn: Callable[[Any], Any], items: Iterable[Any], **options: Any) -> Results:
    """`fn(item)` for every item, in parallel; each task is named after its item."""
    return await arun([Task(functools.partial(fn, item), _label(item)) for item in items], **options)


def map(fn: Callable[[Any], Any], items: Iterable[Any], **options: Any) -> Results:  # noqa: A001 - as in the builtin
    """`amap` for ordinary code."""
    return wait_for(amap(fn, items, **options))


async def arun_stages(stages: Sequence[Stage], **options: Any) -> list[Results]:
    """Run stages one after another, the tasks of each in parallel (the guide's "parallel batches").

    A stage is a list of tasks, or a function that receives the previous stage's `Results` and
    returns the tasks (how stage 2 consumes stage 1's results). A stage starts only when the whole
    previous stage is done. All times are measured from the start of the first stage.
    """
    if isinstance(stages, (str, bytes)) or not isinstance(stages, Sequence):
        raise ParallelError("stages is a list: [tasks of stage 1, function building stage 2, ...]")
    run_clock = RunClock(options.pop("clock", None))
    desc = options.pop("desc", "stage")
    done: list[Results] = []
    for number, stage in enumerate(stages, start=1):
        if callable(stage):
            if not done:
                raise ParallelError("the first stage must be a list of tasks: there are no earlier results "
                                    "to build it from")
            stage = stage(done[-1])
        done.append(await arun(stage, desc=f"{desc} {number}/{len(stages)}", _run_clock=run_clock, **options))
    return done


def run_stages(stages: Sequence[Stage], **options: Any) -> list[Results]:
    """`arun_stages` for ordinary code."""
    return wait_for(arun_stages(stages, **options))


async def arun_graph(steps: Mapping[str, TaskLike], *, concurrency: int = DEFAULT_CONCURRENCY,
                     retry: Retry = DEFAULT_RETRY, timeout: float | None = None,
                     limiter: RateLimiter | None = None, progress: bool = True, desc: str = "steps",
                     clock: Clock | None = None) -> Results:
    """Run named steps as soon as their dependencies allow: a `Task(fn, after=["a", "b"])` starts
    when steps a and b have succeeded and is called as `fn(a=<a's value>, b=<b's value>)`; if one of
    them failed it is skipped with a DependencyError. Results come in the mapping's order."""
    if not isinstance(steps, Mapping):
        raise ParallelError("run_graph takes a dict of step name -> Task(fn, after=[...])")
    named = {name: as_task(step) for name, step in steps.items()}
    engine = Engine(concurrency=concurrency, retry=retry, timeout=timeout, limiter=limiter,
                    progress=progress, desc=desc, total=len(named), clock=RunClock(clock))
    return await _run_graph(named, engine)


def run_graph(steps: Mapping[str, TaskLike], **options: Any) -> Results:
    """`arun_graph` for ordinary code."""
    return wait_for(arun_graph(steps, **options))


def _label(item: Any) -> str:
    text = str(item)
    return text if len(text) <= 40 else text[:39] + "…"
