"""What a parallel run gives back: one `TaskResult` per task, in input order, inside `Results`.

A failed task never costs the others their results: its exception is kept in `TaskResult.error`
next to the values of the tasks that succeeded. Every time is in API-equivalent seconds (see
`labkit.timing`), measured from the start of the run, so results from the simulator and from the
live API read the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, overload

from .. import timing


class TaskTimeoutError(TimeoutError):
    """A task used up its whole time budget (`timeout=`), retries and back-off included."""


class AttemptTimeoutError(TimeoutError):
    """One attempt ran longer than `Retry.attempt_timeout`: it is abandoned and retried."""


class DependencyError(RuntimeError):
    """A graph step was skipped because a step it depends on failed."""


@dataclasses.dataclass(slots=True, repr=False)
class TaskResult:
    """One task's outcome: its value or its exception, how many attempts it took and when it ran.

    `started`/`finished` are API-equivalent seconds since the run began (None for a task that never
    started: a graph step whose dependency failed). `throttled` is the time spent waiting for the
    client-side rate limiter, `backoff` the time spent sleeping between attempts; both are part of
    `seconds`. `retried` holds the errors of the attempts that were retried.
    """

    index: int
    name: str
    value: Any = None
    error: BaseException | None = None
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    throttled: float = 0.0
    backoff: float = 0.0
    retried: list[BaseException] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def seconds(self) -> float:
        """How long the task ran, from taking its slot to its last attempt's end (0 if it never ran)."""
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started

    def unwrap(self) -> Any:
        """The value, or raise the task's error (for code that wants an exception, not a record)."""
        if self.error is not None:
            raise self.error
        return self.value

    def status(self) -> str:
        """`ok`, or the error in a few words (an API error by status and type, as
        `OverloadedError (529 overloaded_error)`), short enough for a table."""
        error = self.error
        if error is None:
            return "ok"
        status = getattr(error, "status_code", None)
        if isinstance(status, int):
            kind = getattr(error, "type", None)
            text = f"{type(error).__name__} ({status}{' ' + kind if isinstance(kind, str) else ''})"
        else:
            message = str(error).splitlines()[0] if str(error) else ""
            text = f"{type(error).__name__}: {message}" if message else type(error).__name__
        return text if len(text) <= 60 else text[:59] + "…"

    def __repr__(self) -> str:
        plural = "" if self.attempts == 1 else "s"
        return (f"TaskResult({self.name!r}: {self.status()}, {self.attempts} attempt{plural}, "
                f"{timing.fmt(self.seconds)})")


class Results(Sequence[TaskResult]):
    """The results of one run, in input order; `results["name"]` finds a task by name.

    `started`/`finished` bound the whole run (API-equivalent seconds from its origin), so `elapsed`
    is the time the caller waited, overheads included.
    """

    def __init__(self, items: list[TaskResult], started: float, finished: float) -> None:
        self._items = items
        self.started = started
        self.finished = finished

    @property
    def elapsed(self) -> float:
        return self.finished - self.started

    @overload
    def __getitem__(self, key: int | str) -> TaskResult: ...
    @overload
    def __getitem__(self, key: slice) -> list[TaskResult]: ...

    def __getitem__(self, key: int | str | slice) -> TaskResult | list[TaskResult]:
        if isinstance(key, str):
            for item in self._items:
                if item.name == key:
                    return item
            raise KeyError(f"no task named {key!r}: names are {', '.join(r.name for r in self._items)}")
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[TaskResult]:
        return iter(self._items)

    def values(self, default: Any = None) -> list[Any]:
        """Every task's value in input order, `default` in place of a failed task's."""
        return [r.value if r.error is None else default for r in self._items]

    @property
    def errors(self) -> list[TaskResult]:
        """The tasks that failed."""
        return [r for r in self._items if r.error is not None]

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self._items)

    @property
    def attempts(self) -> int:
        return sum(r.attempts for r in self._items)

    def summary(self) -> timing.Summary:
        """Latency summary of the tasks that ran (mean, p50, p95 of `seconds`)."""
        return timing.summarize([r.seconds for r in self._items if r.started is not None])

    def table(self) -> str:
        """A plain-text table, one line per task; times are marked `~` as measured values."""
        width = max([4, *(len(r.name) for r in self._items)])
        lines = [f"{'task':<{width}}  {'attempts':>8}  {'start':>9}  {'end':>9}  {'seconds':>9}  status"]
        for r in self._items:
            start = timing.fmt(r.started) if r.started is not None else "-"
            end = timing.fmt(r.finished) if r.finished is not None else "-"
            lines.append(f"{r.name:<{width}}  {r.attempts:>8}  {start:>9}  {end:>9}  "
                         f"{timing.fmt(r.seconds):>9}  {r.status()}")
        return "\n".join(lines)

    def __str__(self) -> str:
        failed = len(self.errors)
        return (f"{len(self)} tasks: {len(self) - failed} ok, {failed} failed, {self.attempts} attempts; "
                f"elapsed {timing.fmt(self.elapsed)} ({timing.unit()})")

    __repr__ = __str__
