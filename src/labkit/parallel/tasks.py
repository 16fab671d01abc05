"""What the runner runs: a `Task` wraps a function to call (sync or async) with what it costs.

A task is a *function*, not a coroutine object: a coroutine can be awaited only once, so it could
never be retried. Async functions (`async def`, an async client's methods, `functools.partial` of
either) run on the event loop; anything else runs in a thread, so a blocking call (the sync
`anthropic` client) never stalls the other tasks. A function that merely returns a coroutine
(`lambda: client.messages.create(...)` on an async client) works too, at the cost of a thread hop.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from .. import tokens
from ..errors import LabkitError
from .errors import ParallelError


def is_async_callable(fn: Any) -> bool:
    """Whether calling `fn` returns a coroutine, seeing through partials, bound methods and
    decorators that keep `__wrapped__` (the `anthropic` SDK wraps its async methods that way)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    target = inspect.unwrap(fn)
    if inspect.iscoroutinefunction(target):
        return True
    call = getattr(target, "__call__", None)  # an object with `async def __call__`
    return inspect.ismethod(call) and inspect.iscoroutinefunction(inspect.unwrap(call))


class Task:
    """A function to run, with a name and the tokens one attempt uses (for a rate limiter).

    `after` names the graph steps whose values it takes as keyword arguments (`run_graph` only).
    `input_tokens` / `output_tokens` are what each attempt reserves from a `RateLimiter`: the
    prompt's estimated input and the request's `max_tokens` (see `message_task`).
    """

    __slots__ = ("fn", "name", "after", "input_tokens", "output_tokens", "is_async")

    def __init__(self, fn: Callable[..., Any], name: str | None = None, *, after: Iterable[str] = (),
                 input_tokens: int = 0, output_tokens: int = 0) -> None:
        if inspect.iscoroutine(fn) or inspect.isawaitable(fn):
            if inspect.iscoroutine(fn):
                fn.close()  # never awaited: close it so Python does not warn about it
            raise ParallelError("pass a function, not a coroutine (a coroutine runs only once and "
                                "could not be retried): write functools.partial(f, x) instead of f(x)")
        if not callable(fn):
            raise ParallelError(f"a task is a function to call, got {type(fn).__name__}")
        if isinstance(after, str):
            raise ParallelError(f"after= takes a list of step names, got the string {after!r}: write after=[{after!r}]")
        if input_tokens < 0 or output_tokens < 0:
            raise ParallelError("a task's token counts cannot be negative")
        self.fn = fn
        self.name = name
        self.after = tuple(after)
        self.input_tokens = int(input_tokens)
        self.output_tokens = int(output_tokens)
        self.is_async = is_async_callable(fn)

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "sync"
        return f"Task({self.name or getattr(self.fn, '__name__', 'task')!r}, {kind})"


def as_task(item: Task | Callable[..., Any]) -> Task:
    return item if isinstance(item, Task) else Task(item)


def message_task(client: Any, name: str | None = None, **params: Any) -> Task:
    """A task that sends one Messages request, `client.messages.create(**params)`, priced for a
    rate limiter: its estimated input tokens (`labkit.tokens.estimate_request`) and its `max_tokens`.

    Works with a sync or an async client. Give the client `max_retries=0` when the runner retries
    (see `labkit.parallel`): otherwise every attempt the runner counts may hide SDK retries.
    """
    if "max_tokens" not in params or "messages" not in params:
        raise ParallelError("message_task needs the request's max_tokens and messages, as messages.create does")
    try:
        input_tokens = tokens.estimate_request(params)
    except LabkitError:  # a model labkit has no profile for: the API will answer for it (404 or not)
        input_tokens = tokens.estimate_request({k: v for k, v in params.items() if k != "model"})
    return Task(functools.partial(client.messages.create, **params), name,
                input_tokens=input_tokens, output_tokens=params["max_tokens"])
