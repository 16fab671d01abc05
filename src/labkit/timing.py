"""Timers, and how measured times are shown.

A `Timer` reads the one clock (`labkit.clock`). Under the simulator each sample is **modelled**
seconds (the simulated service's time: exact, the same on every machine and every run) plus
**local** seconds (this machine's own work, at its real duration); their sum is API-equivalent
seconds. Live, a sample is wall seconds.

What a timer reports (`samples`, `last`, summaries) is each reading's `seconds`: the modelled part
offline, wall time live; the local part is kept beside it (`readings`). Shown values follow one rule:
an exact value is printed plainly (`4.31 s`), a value that changes from run to run is marked `~`
(`~0.002 s`), which the test suite's sanitiser relies on.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import statistics
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .clock import Clock, Reading
from .errors import UsageError
from .results import format_value

__all__ = ["Summary", "Timer", "fmt", "percentile", "show", "summarize", "unit"]

F = TypeVar("F", bound=Callable[..., Any])


def unit(clock: Clock) -> str:
    """What a reported duration on this clock is: modelled seconds offline, wall seconds live."""
    return "modelled s" if clock.simulated else "wall s, live"


def fmt(seconds: float) -> str:
    """A duration that varies between runs (local or live), for printing: `~1.23 s`."""
    return format_value(seconds, "s", volatile=True)


def show(reading: Reading) -> str:
    """A reading for printing: `4.31 s` offline (exact), `~4.31 s` live."""
    return format_value(reading.seconds, "s", volatile=reading.live)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (a whole number from 0 to 100), interpolated linearly between the closest
    ranks, as numpy's default does (`statistics.quantiles(method="inclusive")`)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100 or q != int(q):
        raise ValueError(f"percentile needs a whole number from 0 to 100, got {q!r}")
    if q == 0 or q == 100 or len(values) == 1:
        return float(min(values) if q == 0 else max(values) if q == 100 else values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclasses.dataclass(frozen=True)
class Summary:
    """Statistics of a set of durations: of the modelled part under the simulator (exact), of wall
    time live; `local` is the local time of all samples together (0 live, where it is not split)."""

    n: int
    total: float
    mean: float
    p50: float
    p95: float
    local: float = 0.0
    simulated: bool = True

    def __str__(self) -> str:
        if not self.n:
            return "no samples"
        if self.simulated:
            return (f"n={self.n}  mean {self.mean:.2f} s  p50 {self.p50:.2f} s  p95 {self.p95:.2f} s  "
                    f"total {self.total:.2f} s  (modelled; local work adds {fmt(self.local)} in all)")
        return (f"n={self.n}  mean {fmt(self.mean)}  p50 {fmt(self.p50)}  p95 {fmt(self.p95)}"
                f"  total {fmt(self.total)}  (wall s, live)")


def summarize(samples: Sequence[Reading | float], simulated: bool = True) -> Summary:
    """The `Summary` of some durations: clock readings, or seconds already reported (a float is
    taken as exact offline, as wall time live)."""
    readings = [s if isinstance(s, Reading) else Reading(float(s), 0.0) if simulated
                else Reading(0.0, float(s), live=True) for s in samples]
    if not readings:
        return Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0, simulated)
    values = [r.seconds for r in readings]
    local = sum(r.local for r in readings) if simulated else 0.0
    return Summary(len(values), sum(values), statistics.fmean(values), percentile(values, 50),
                   percentile(values, 95), local, simulated)


class Timer:
    """Time blocks (`with timer:`) or calls (`@timer`), sync or async; keeps every sample.

    `clock`: the clock to read (default: the configured one, `labkit.backend.clock()`).

    >>> from labkit.clock import SimClock
    >>> t = Timer("research", clock=SimClock())
    >>> with t:
    ...     t.clock.sleep(2.5)            # a simulated wait: 2.5 modelled seconds, no real wait
    >>> t.readings[0].modelled
    2.5
    """

    def __init__(self, name: str = "timer", *, clock: Clock | None = None) -> None:
        self.name = name
        self._clock = clock
        self.readings: list[Reading] = []
        self._starts: list[Reading] = []

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            from . import backend  # the façade resolves the configuration, once, on first use

            self._clock = backend.clock()
        return self._clock

    def __enter__(self) -> Timer:
        self._starts.append(self.clock.read())
        return self

    def __exit__(self, *exc: object) -> None:
        started = self._starts.pop()
        self.readings.append(self.clock.read() - started)

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await fn(*args, **kwargs)
            return timed_async  # type: ignore[return-value]

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)
        return timed  # type: ignore[return-value]

    @property
    def samples(self) -> list[float]:
        """Every sample's seconds: modelled offline (exact), wall seconds live."""
        return [r.seconds for r in self.readings]

    @property
    def local(self) -> list[float]:
        """The local part of every sample (this machine's own work; all of it live)."""
        return [r.local for r in self.readings]

    @property
    def last(self) -> float:
        if not self.readings:
            raise UsageError(f"timer {self.name!r} has no samples yet")
        return self.readings[-1].seconds

    @property
    def total(self) -> float:
        return sum(self.samples)

    def summary(self) -> Summary:
        return summarize(self.readings, self.clock.simulated)

    def __repr__(self) -> str:
        return f"Timer({self.name!r}: {self.summary()})"
