"""The asynchronous core: run tasks with bounded concurrency, retries, limits, timeouts and progress.

Bounded concurrency comes from a pool of `concurrency` workers that pull tasks in input order, not
from one asyncio task per input behind a semaphore: the same bound, with less bookkeeping per task
(`benchmarks/parallel_overhead.py` measures the difference). Graph steps go through a ready queue
instead: a step is queued when its last dependency succeeds, and skipped when one fails.

Times are readings of the one clock (`labkit.clock`) since the run began (`RunClock`): offline,
modelled service seconds plus local seconds; live, wall seconds. Every wait the runner makes
(timeouts, back-off, throttling) is a wait on that clock, so offline it is simulated and exact.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import inspect
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ..clock import Clock, Reading, waits_in
from .errors import ParallelError
from .graph import check_step, topological_order
from .limits import RateLimiter
from .results import AttemptTimeoutError, DependencyError, Results, TaskResult, TaskTimeoutError
from .retry import Retry
from .tasks import Task


class RunClock:
    """A clock's readings since a run began, leaving out the local time spent in `paused()` blocks.

    Drawing a progress bar is not part of the work being measured, yet a notebook widget takes tens
    of milliseconds to create. The stages of `run_stages` share one run clock, so their times line
    up on one axis.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        if clock is None:
            from .. import backend  # the façade's configured clock

            clock = backend.clock()
        self.clock = clock
        self.origin = clock.read()

    def now(self) -> Reading:
        return self.clock.read() - self.origin

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        began = self.clock.read()
        try:
            yield
        finally:
            self.origin = self.origin + (self.clock.read() - began)


class Engine:
    """One run's settings, clock and progress bar; `execute` runs one task to its final outcome."""

    def __init__(self, *, concurrency: int, retry: Retry, timeout: float | None, limiter: RateLimiter | None,
                 progress: bool, desc: str, total: int, clock: RunClock | None = None) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ParallelError(f"concurrency must be a whole number ≥ 1, got {concurrency!r}")
        if not isinstance(retry, Retry):
            raise ParallelError(f"retry must be a labkit.parallel.Retry, got {type(retry).__name__}")
        if timeout is not None and not timeout > 0:
            raise ParallelError(f"timeout must be positive seconds or None, got {timeout!r}")
        if limiter is not None and not isinstance(limiter, RateLimiter):
            raise ParallelError(f"limiter must be a labkit.parallel.RateLimiter, got {type(limiter).__name__}")
        self.concurrency = concurrency
        self.retry = retry
        self.timeout = timeout
        self.limiter = limiter
        self.clock = clock or RunClock()
        with self.clock.paused():
            self.bar = _progress_bar(total, desc, self.clock.clock.simulated) if progress and total else None
        self.failed = 0
        self.threads = Threads()

    def now(self) -> Reading:
        return self.clock.now()

    def close(self) -> None:
        self.threads.close()
        if self.bar is not None:
            with self.clock.paused():
                self.bar.close()

    async def execute(self, index: int, name: str, task: Task, kwargs: Mapping[str, Any] | None = None) -> TaskResult:
        """Run one task (all its attempts) and record its value or error; never raises an Exception."""
        result = TaskResult(index, name)
        result.start = self.clock.now()
        try:
            if self.timeout is None:
                result.value = await self._attempts(task, result, kwargs)
            else:
                result.value = await self._with_deadline(task, result, kwargs)
        except Exception as error:  # the task's failure is its result; the run goes on
            result.error = error
            self.failed += 1
        result.end = self.clock.now()
        if self.bar is not None:
            postfix = {"failed": self.failed} if self.failed else {}
            if self.clock.clock.simulated:  # the bar's own clock is wall time: show the run's instead
                postfix["modelled"] = f"{result.end.seconds:.1f} s"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
        return result

    async def _with_deadline(self, task: Task, result: TaskResult, kwargs: Mapping[str, Any] | None) -> Any:
        deadline = self.clock.clock.timeout(self.timeout)
        try:
            async with deadline as budget:
                return await self._attempts(task, result, kwargs)
        except TimeoutError:
            if not budget.expired():
                raise  # the task's own TimeoutError, not our deadline
            raise TaskTimeoutError(f"no result within the task's timeout of {self.timeout:g} s, "
                                   f"after {result.attempts} attempt(s)") from None

    async def _attempts(self, task: Task, result: TaskResult, kwargs: Mapping[str, Any] | None) -> Any:
        retry, limiter = self.retry, self.limiter
        while True:
            result.attempts += 1
            if limiter is not None:
                result.throttled += await limiter.acquire(1, task.input_tokens, task.output_tokens)
            try:
                if retry.attempt_timeout is None:
                    value = await self._call(task, kwargs)
                else:
                    value = await self._call_with_timeout(task, kwargs)
            except Exception as error:
                if limiter is not None:
                    limiter.refund(output_tokens=task.output_tokens)  # a failed attempt produced nothing
                    headers = getattr(getattr(error, "response", None), "headers", None)
                    if headers is not None:
                        limiter.observe(headers)  # a 429 says the server counts less than we do
                if result.attempts >= retry.max_attempts or not retry.retry_on(error):
                    raise
                result.retried.append(error)
                wait = retry.wait(error, result.attempts, f"{result.index}:{result.name}")
                result.backoff += wait
                await self.clock.clock.asleep(wait)
                continue
            if limiter is not None:
                limiter.settle(task.input_tokens, task.output_tokens, getattr(value, "usage", None))
            return value

    async def _call_with_timeout(self, task: Task, kwargs: Mapping[str, Any] | None) -> Any:
        try:
            async with self.clock.clock.timeout(self.retry.attempt_timeout) as limit:
                return await self._call(task, kwargs)
        except TimeoutError:
            if not limit.expired():
                raise
            raise AttemptTimeoutError(f"attempt took longer than {self.retry.attempt_timeout:g} s") from None

    async def _call(self, task: Task, kwargs: Mapping[str, Any] | None) -> Any:
        if task.is_async:
            return await (task.fn(**kwargs) if kwargs else task.fn())
        value = await self.threads.call(task.fn, kwargs)
        if inspect.isawaitable(value):  # a plain function that returned a coroutine
            value = await value
        return value


async def run_tasks(tasks: Sequence[Task], engine: Engine) -> Results:
    """Independent tasks: `concurrency` workers take them in input order; results in input order."""
    results: list[TaskResult] = [None] * len(tasks)  # type: ignore[list-item]
    pending = iter(range(len(tasks)))

    async def worker() -> None:
        for i in pending:
            task = tasks[i]
            results[i] = await engine.execute(i, task.name or f"#{i}", task)

    started = engine.now()
    try:
        workers = min(engine.concurrency, len(tasks))
        if workers == 1:
            await worker()
        elif workers:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finished = engine.now()
    finally:
        engine.close()
    return Results(results, started, finished, engine.clock.clock.simulated)


async def run_graph(steps: Mapping[str, Task], engine: Engine) -> Results:
    """Steps with dependencies: a step starts as soon as every step it runs `after` has succeeded,
    receiving their values as keyword arguments; if one failed, it is skipped (DependencyError)."""
    names = list(steps)
    topological_order({name: steps[name].after for name in names})
    for name in names:
        check_step(name, steps[name].fn, steps[name].after)
    position = {name: i for i, name in enumerate(names)}
    results: list[TaskResult | None] = [None] * len(names)
    waiting = {name: len(set(steps[name].after)) for name in names}
    children: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for parent in dict.fromkeys(steps[name].after):
            children[parent].append(name)
    ready = collections.deque(name for name in names if not waiting[name])
    wake = asyncio.Event()
    remaining = len(names)

    def resolve(name: str, result: TaskResult) -> None:
        nonlocal remaining
        results[position[name]] = result
        remaining -= 1
        for child in children[name]:
            if results[position[child]] is not None:
                continue
            if result.error is not None:
                resolve(child, TaskResult(position[child], child, error=DependencyError(
                    f"skipped: step {name!r} failed")))
            else:
                waiting[child] -= 1
                if not waiting[child]:
                    ready.append(child)

    async def worker() -> None:
        while True:
            while not ready:
                if not remaining:
                    return
                wake.clear()
                await wake.wait()
            name = ready.popleft()
            step = steps[name]
            kwargs = {parent: results[position[parent]].value for parent in step.after}  # type: ignore[union-attr]
            resolve(name, await engine.execute(position[name], name, step, kwargs))
            wake.set()

    started = engine.now()
    try:
        if names:
            await asyncio.gather(*(worker() for _ in range(min(engine.concurrency, len(names)))))
        finished = engine.now()
    finally:
        engine.close()
    return Results(results, started, finished, engine.clock.clock.simulated)  # type: ignore[arg-type]


class Threads:
    """Daemon threads for a run's sync tasks, reused like a pool's but never waited for.

    A pool would keep a slot busy for as long as a call that hung past its timeout keeps running
    (Python cannot stop a thread) and would block interpreter exit on it. Here a call that finds no
    idle thread starts a new one, so an abandoned call costs only its own thread; when the run
    closes, idle threads exit and busy ones exit as soon as their call returns.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            start = not self._idle
            if not start:
                self._idle -= 1
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, daemon=True, name="labkit-task").start()

    def close(self) -> None:
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, 0
        for _ in range(idle):
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()
            with self._lock:
                if self._closed:
                    return
                self._idle += 1

    async def call(self, fn: Any, kwargs: Mapping[str, Any] | None) -> Any:
        """Call a blocking function on one of these threads and await its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        context = contextvars.copy_context()

        def job() -> None:
            try:
                value = context.run(fn, **kwargs) if kwargs else context.run(fn)
            except Exception as error:
                _deliver(loop, future, None, error)
            except BaseException as error:  # SystemExit & co. in a worker thread: report, do not hang
                _deliver(loop, future, None, RuntimeError(f"task thread stopped: {error!r}"))
            else:
                _deliver(loop, future, value, None)

        self.submit(job)
        return await future


# An idle task thread waits in `SimpleQueue.get` (C), which the clock cannot see from its frame alone.
waits_in(Threads._work, lambda frame, frames: frame.f_locals["self"]._jobs.empty())


def _deliver(loop: asyncio.AbstractEventLoop, future: asyncio.Future, value: Any, error: BaseException | None) -> None:
    def settle() -> None:
        if future.done():  # abandoned: the attempt timed out or the run was cancelled
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop has closed since: nobody is waiting any more
        pass


def _progress_bar(total: int, desc: str, simulated: bool) -> Any:
    """A tqdm bar (a widget in notebooks, text elsewhere) counting finished tasks. Offline it shows the
    run's modelled seconds, not tqdm's wall-clock elapsed time and rate, which would mislead."""
    from tqdm.auto import tqdm

    form = "{l_bar}{bar}| {n_fmt}/{total_fmt} tasks{postfix}" if simulated else None
    return tqdm(total=total, desc=desc, unit="task", leave=True, bar_format=form)
