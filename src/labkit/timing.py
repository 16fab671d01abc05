"""Timers that report API-equivalent seconds under the simulator and wall seconds live.

The simulator really waits, but for `time_scale` x the modelled time, so dividing a measured wall
time by the scale gives the time the same work would take against the real API. Printed times are
marked with `~` because they vary from run to run (the test suite's sanitiser relies on that mark).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

from . import config

F = TypeVar("F", bound=Callable[..., Any])


def scale() -> float:
    """The divisor from wall seconds to reported seconds (1.0 live or with waits switched off)."""
    cfg = config.current()
    return cfg.time_scale if cfg.simulated and cfg.time_scale > 0 else 1.0


def unit() -> str:
    """What reported seconds mean: simulated time at the real API's pace, or plain wall time."""
    return "API-equivalent s" if scale() != 1.0 else "wall s"


def fmt(seconds: float) -> str:
    """A measured duration for printing: `~1.23 s`."""
    return f"~{seconds:.2f} s"


@dataclasses.dataclass(frozen=True)
class Summary:
    n: int
    total: float
    mean: float
    p50: float
    p95: float
    unit: str

    def __str__(self) -> str:
        if not self.n:
            return "no samples"
        return (f"n={self.n}  mean {fmt(self.mean)}  p50 {fmt(self.p50)}  p95 {fmt(self.p95)}"
                f"  total {fmt(self.total)}  ({self.unit})")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(samples: list[float], unit_label: str | None = None) -> Summary:
    if not samples:
        return Summary(0, 0.0, 0.0, 0.0, 0.0, unit_label or unit())
    return Summary(len(samples), sum(samples), statistics.fmean(samples),
                   percentile(samples, 50), percentile(samples, 95), unit_label or unit())


class Timer:
    """Time blocks (`with timer:`) or calls (`@timer`), sync or async; keeps every sample.

    >>> t = Timer("research")
    >>> with t:
    ...     pass
    >>> t.summary().n
    1
    """

    def __init__(self, name: str = "timer") -> None:
        self.name = name
        self.samples: list[float] = []
        self._starts: list[tuple[float, float]] = []

    def __enter__(self) -> "Timer":
        self._starts.append((time.perf_counter(), scale()))
        return self

    def __exit__(self, *exc: object) -> None:
        started, divisor = self._starts.pop()
        self.samples.append((time.perf_counter() - started) / divisor)

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
    def last(self) -> float:
        if not self.samples:
            raise ValueError(f"timer {self.name!r} has no samples yet")
        return self.samples[-1]

    @property
    def total(self) -> float:
        return sum(self.samples)

    def summary(self) -> Summary:
        return summarize(self.samples)

    def __repr__(self) -> str:
        return f"Timer({self.name!r}: {self.summary()})"
