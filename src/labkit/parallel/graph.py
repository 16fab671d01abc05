"""Dependencies between tasks: checking a graph, ordering it, and its critical path.

The critical path is the longest chain of dependent work: no amount of parallelism finishes sooner,
so `sum of all durations / critical path` is the **ideal speed-up** over running everything one
after another. Measured speed-ups are compared against it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .errors import ParallelError


def topological_order(after: Mapping[str, Iterable[str]]) -> list[str]:
    """The names in an order where every name comes after those it depends on (input order kept
    where dependencies allow). Raises ParallelError for an unknown dependency or a cycle."""
    deps = {name: tuple(dict.fromkeys(parents)) for name, parents in after.items()}
    for name, parents in deps.items():
        for parent in parents:
            if parent not in deps:
                raise ParallelError(f"step {name!r} runs after {parent!r}, which is not a step: "
                                    f"steps are {', '.join(deps)}")
    placed: dict[str, None] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in placed:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            raise ParallelError(f"the steps depend on each other in a cycle: {' -> '.join(cycle)}")
        visiting.append(name)
        for parent in deps[name]:
            visit(parent)
        visiting.pop()
        placed[name] = None

    for name in deps:
        visit(name)
    return list(placed)


class CriticalPath(NamedTuple):
    seconds: float
    steps: list[str]


def critical_path(durations: Mapping[str, float], after: Mapping[str, Iterable[str]] | None = None) -> CriticalPath:
    """The longest chain through the graph, weighted by `durations`: its length is the shortest
    possible time for the whole graph with unlimited parallelism. Without `after`, the tasks are
    independent and the critical path is simply the slowest one."""
    after = after or {}
    extra = set(after) - set(durations)
    if extra:
        raise ParallelError(f"no duration given for {', '.join(sorted(extra))}")
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for name in topological_order({name: after.get(name, ()) for name in durations}):
        if durations[name] < 0:
            raise ParallelError(f"duration of {name!r} is negative")
        parent = max(after.get(name, ()), key=finish.__getitem__, default=None)
        finish[name] = durations[name] + (finish[parent] if parent is not None else 0.0)
        via[name] = parent
    if not finish:
        return CriticalPath(0.0, [])
    step: str | None = max(finish, key=finish.__getitem__)
    path = []
    while step is not None:
        path.append(step)
        step = via[step]
    return CriticalPath(finish[path[0]], path[::-1])


def check_step(name: str, fn: Callable[..., Any], after: tuple[str, ...]) -> None:
    """A graph step's function must accept its dependencies' values as keyword arguments."""
    if not name.isidentifier():
        raise ParallelError(f"step name {name!r} must be a Python identifier (it can become a keyword "
                            "argument of the steps that run after it): use letters, digits and _")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin or C function: let the call itself report a mismatch
    try:
        signature.bind(**{parent: None for parent in after})
    except TypeError:
        wanted = ", ".join(after) if after else "no arguments"
        raise ParallelError(f"step {name!r} is called with the values of {wanted} as keyword "
                            f"arguments, but its function's signature is {signature}") from None
