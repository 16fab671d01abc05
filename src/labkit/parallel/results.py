"""What a parallel run gives back: one `TaskResult` per task, in input order, inside `Results`.

A failed task never costs the others their results: its exception is kept in `TaskResult.error`
next to the values of the tasks that succeeded. Every time is a reading of the run's clock since the
run began (`labkit.clock`): offline, modelled seconds (exact) plus local seconds (this machine);
live, wall seconds. `started`, `finished`, `seconds` and `elapsed` are each reading's `seconds`:
the modelled part offline, which is the same on every run, and wall time live; `duration` keeps the
local part beside it. Printed offline, a table shows the local time of the whole run once, marked `~`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, overload

from .. import timing
from ..clock import ZERO, Reading


class TaskTimeoutError(TimeoutError):
    """A task used up its whole time budget (`timeout=`), retries and back-off included."""


class AttemptTimeoutError(TimeoutError):
    """One attempt ran longer than `Retry.attempt_timeout`: it is abandoned and retried."""


class DependencyError(RuntimeError):
    """A graph step was skipped because a step it depends on failed."""


@dataclasses.dataclass(slots=True, repr=False)
class TaskResult:
    """One task's outcome: its value or its exception, how many attempts it took and when it ran.

    `start`/`end` are clock readings since the run began (None for a task that never started: a
    graph step whose dependency failed); `started`/`finished` are their totals. `throttled` is the
    time spent waiting for the client-side rate limiter, `backoff` the time spent waiting between
    attempts; both are part of `seconds`. `retried` holds the errors of the attempts that were retried.
    """

    index: int
    name: str
    value: Any = None
    error: BaseException | None = None
    attempts: int = 0
    start: Reading | None = None
    end: Reading | None = None
    throttled: float = 0.0
    backoff: float = 0.0
    retried: list[BaseException] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def started(self) -> float | None:
        return None if self.start is None else self.start.seconds

    @property
    def finished(self) -> float | None:
        return None if self.end is None else self.end.seconds

    @property
    def duration(self) -> Reading:
        """How long the task ran, from taking its slot to its last attempt's end (0 if it never ran)."""
        if self.start is None or self.end is None:
            return ZERO
        return self.end - self.start

    @property
    def seconds(self) -> float:
        return self.duration.seconds

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
                f"{timing.show(self.duration)})")


class Results(Sequence[TaskResult]):
    """The results of one run, in input order; `results["name"]` finds a task by name.

    `start`/`end` bound the whole run (readings from its origin), so `elapsed` is the time the
    caller waited, overheads included. `simulated` says whether the clock was the simulator's.
    """

    def __init__(self, items: list[TaskResult], start: Reading, end: Reading, simulated: bool = True) -> None:
        self._items = items
        self.start = start
        self.end = end
        self.simulated = simulated

    @property
    def started(self) -> float:
        return self.start.seconds

    @property
    def finished(self) -> float:
        return self.end.seconds

    @property
    def duration(self) -> Reading:
        return self.end - self.start

    @property
    def elapsed(self) -> float:
        """The run's seconds: modelled offline (exact), wall seconds live."""
        return self.duration.seconds

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
        """Latency summary of the tasks that ran (mean, p50, p95 of their durations)."""
        return timing.summarize([r.duration for r in self._items if r.start is not None], self.simulated)

    def table(self) -> str:
        """A plain-text table, one line per task. Offline it shows modelled seconds (exact) and
        the local time of the whole run once, marked `~`; live, wall seconds, marked `~`."""
        width = max([4, *(len(r.name) for r in self._items)])
        lines = [f"{'task':<{width}}  {'attempts':>8}  {'start':>9}  {'end':>9}  {'seconds':>9}  status"]
        for r in self._items:
            start = self._show(r.start) if r.start is not None else "-"
            end = self._show(r.end) if r.end is not None else "-"
            lines.append(f"{r.name:<{width}}  {r.attempts:>8}  {start:>9}  {end:>9}  "
                         f"{self._show(r.duration):>9}  {r.status()}")
        if self.simulated:
            lines.append(f"(modelled seconds; local work adds {timing.fmt(self.duration.local)} to the run)")
        return "\n".join(lines)

    def _show(self, reading: Reading) -> str:
        return timing.show(reading)

    def __str__(self) -> str:
        failed = len(self.errors)
        if self.simulated:
            took = f"{timing.show(self.duration)} modelled + {timing.fmt(self.duration.local)} local"
        else:
            took = f"{timing.show(self.duration)} (wall s, live)"
        return (f"{len(self)} tasks: {len(self) - failed} ok, {failed} failed, {self.attempts} attempts; "
                f"elapsed {took}")

    __repr__ = __str__
