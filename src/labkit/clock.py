"""The one clock: simulated service time that does not depend on the machine, plus real local time.

Under the simulator every call waits on a `SimClock`. Its reading has two parts:

- **modelled** seconds, advanced only by the modelled service time of the calls that code waited
  for. This part is exact and deterministic: the same seed gives the same figure on any machine,
  busy or idle, at any `pace`.
- **local** seconds: real time spent by this process's own code (the SDK building a request, a
  cache hit, a notebook's pandas) counted at its real duration, never magnified.

`total = modelled + local` is the "API-equivalent" time a learner's code would take against the
real service, with the service modelled and the rest real.

**How it works** (the design, and why, is in docs/simulator.md, "Time"). A simulated wait does not
sleep for its latency. It registers a deadline and blocks. When every thread of the simulation is
blocked (in a simulated wait, or waiting on a lock, a queue, a future or an idle event loop), the
clock jumps to the earliest deadline and releases that waiter: a virtual clock with an automatic
jump, as trio's `MockClock(autojump_threshold=0)` and the `looptime` plugin do for one event loop,
extended to threads by reading each thread's current frame. Since a jump waits for the other threads
to block, three calls started together from a thread pool all register before the first one ends,
and take the longest call's time, however slowly the machine starts the threads.

`pace` (the configured `time_scale`) only sets how long a jump takes in real time, so that progress
can be watched: 0 is as fast as possible, 0.01 is a hundred times real speed. It never changes a
figure.

Live, `WallClock` reads wall time and sleeps for real: every figure is *live*.
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import contextlib
import dataclasses
import gc
import heapq
import itertools
import logging
import sys
import threading
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .errors import UsageError

__all__ = ["EPOCH", "Clock", "Deadline", "Reading", "SimClock", "WallClock", "waits_in"]

log = logging.getLogger(__name__)

# Simulated time starts at a fixed instant, so that timestamps in responses are reproducible.
EPOCH = 1_795_000_000.0  # 2026-11-18T11:06:40Z

# Safety nets, never the usual path. A thread whose frame the table below does not know is taken to
# be waiting once it has used under IDLE_CPU_SHARE of a core for IDLE_WINDOW_S (blocked in a C call,
# or polling with sleeps): an unknown library thread cannot hold simulated time still for ever. And
# if nothing has been released for LAST_RESORT_S of real time while waits are due, the earliest is
# released anyway, with a warning: a thread that spins without end must not deadlock the clock.
IDLE_WINDOW_S = 0.1
IDLE_CPU_SHARE = 0.05
LAST_RESORT_S = 5.0
SCHEDULER_IDLE_S = 1.0  # a clock's scheduler thread ends after this long with nothing to release
_POLL_MIN_S, _POLL_MAX_S = 0.00005, 0.002


@dataclasses.dataclass(frozen=True)
class Reading:
    """One reading of a clock, or the difference of two: `modelled + local = total` seconds.

    `seconds` is the figure to report: the modelled part offline (exact; the local part is reported
    apart, as local), wall time live (`live` readings have nothing modelled)."""

    modelled: float
    local: float
    live: bool = False

    @property
    def total(self) -> float:
        return self.modelled + self.local

    @property
    def seconds(self) -> float:
        return self.total if self.live else self.modelled

    def __sub__(self, earlier: Reading) -> Reading:
        return Reading(self.modelled - earlier.modelled, self.local - earlier.local, self.live)

    def __add__(self, other: Reading) -> Reading:
        return Reading(self.modelled + other.modelled, self.local + other.local, self.live)


ZERO = Reading(0.0, 0.0)


class Clock:
    """What every timer, runner, limiter and cache reads. Subclasses: `SimClock`, `WallClock`."""

    simulated: bool = False

    def read(self) -> Reading:
        raise NotImplementedError

    def now(self) -> float:
        """Total seconds since the clock started."""
        return self.read().total

    def timestamp(self) -> float:
        """Seconds since the Unix epoch, for dates in responses and logs."""
        raise NotImplementedError

    def sleep(self, seconds: float, *, since: Reading | None = None) -> None:
        """Wait `seconds` (counted from the reading `since`, default now) in this thread."""
        raise NotImplementedError

    async def asleep(self, seconds: float, *, since: Reading | None = None) -> None:
        """Wait `seconds` (counted from the reading `since`, default now) in this task."""
        raise NotImplementedError

    def timeout(self, seconds: float | None) -> contextlib.AbstractAsyncContextManager[Deadline]:
        """`async with clock.timeout(s) as deadline:` raises TimeoutError after `s` seconds of this
        clock (None: never); `deadline.expired()` tells that TimeoutError from the block's own."""
        raise NotImplementedError


class Deadline:
    """What `Clock.timeout()` yields, as `asyncio.timeout()` does."""

    def __init__(self) -> None:
        self._expired = False

    def expired(self) -> bool:
        return self._expired


class WallClock(Clock):
    """Live mode: wall time, real sleeps; nothing is modelled."""

    def __init__(self) -> None:
        self._start = time.perf_counter()

    def read(self) -> Reading:
        return Reading(0.0, time.perf_counter() - self._start, live=True)

    def timestamp(self) -> float:
        return time.time()

    def _left(self, seconds: float, since: Reading | None) -> float:
        _check_seconds(seconds)
        return seconds if since is None else seconds - (self.now() - since.total)

    def sleep(self, seconds: float, *, since: Reading | None = None) -> None:
        time.sleep(max(0.0, self._left(seconds, since)))

    async def asleep(self, seconds: float, *, since: Reading | None = None) -> None:
        await asyncio.sleep(max(0.0, self._left(seconds, since)))

    def timeout(self, seconds: float | None) -> contextlib.AbstractAsyncContextManager[Any]:
        return asyncio.timeout(seconds)  # an asyncio.Timeout: it has expired() too


# ---------------------------------------------------------------------------------------------
# Which frames mean "this thread is waiting": code object -> predicate(frame, snapshot) -> bool.

_Blocked = Callable[[types.FrameType, "dict[int, types.FrameType]"], bool]
_WAITS: dict[types.CodeType, _Blocked] = {}


def waits_in(function: Any, blocked: _Blocked | None = None) -> None:
    """Declare that a thread whose innermost Python frame is `function` is waiting (when `blocked`,
    given the frame and every thread's frame, says so; default: always). labkit's own worker loops
    register themselves; the standard library's waits are registered below."""
    code = getattr(function, "__code__", None) or getattr(getattr(function, "__func__", None), "__code__", None)
    if not isinstance(code, types.CodeType):
        raise TypeError(f"waits_in needs a Python function, got {function!r}")
    _WAITS[code] = blocked or (lambda frame, frames: True)


def _condition_blocked(frame: types.FrameType, frames: dict[int, types.FrameType]) -> bool:
    # Still in the condition's waiter list: nobody has notified it (notify removes it first).
    local = frame.f_locals
    condition, waiter = local.get("self"), local.get("waiter")
    return waiter is not None and waiter in getattr(condition, "_waiters", ())


def _join_blocked(frame: types.FrameType, frames: dict[int, types.FrameType]) -> bool:
    target = frame.f_locals.get("self")
    return getattr(target, "ident", None) in frames  # the thread joined is still running


def _pool_worker_blocked(frame: types.FrameType, frames: dict[int, types.FrameType]) -> bool:
    queue = frame.f_locals.get("work_queue")
    return queue is not None and queue.empty()  # an item is popped only once the GIL is held


def _selector_blocked(frame: types.FrameType, frames: dict[int, types.FrameType]) -> bool:
    # An asyncio loop waiting for I/O: idle only if nothing is ready to run (call_soon_threadsafe
    # appends to `_ready` before it wakes the selector).
    caller = frame.f_back
    loop = caller.f_locals.get("self") if caller is not None else None
    ready = getattr(loop, "_ready", None)
    return not ready if isinstance(ready, collections.abc.Sized) else True


def _register_standard_waits() -> None:
    import concurrent.futures.thread
    import selectors
    import socket
    import subprocess

    waits_in(threading.Condition.wait, _condition_blocked)
    # Thread.join blocks in `_wait_for_tstate_lock` up to 3.12, in `join` itself from 3.13.
    waits_in(getattr(threading.Thread, "_wait_for_tstate_lock", threading.Thread.join), _join_blocked)
    waits_in(concurrent.futures.thread._worker, _pool_worker_blocked)
    for cls in (getattr(selectors, n, None) for n in ("SelectSelector", "PollSelector", "EpollSelector",
                                                     "DevpollSelector", "KqueueSelector")):
        if cls is not None:
            waits_in(cls.select, _selector_blocked)
    waits_in(socket.socket.accept)
    waits_in(socket.SocketIO.readinto)
    waits_in(subprocess.Popen._try_wait)


_register_standard_waits()


# Threads that were running before labkit was imported (a kernel's heartbeat, I/O and poller
# threads) are not part of any simulation; the main thread always is.
_BEFORE_LABKIT = frozenset(t.ident for t in threading.enumerate()
                           if t.ident is not None and t is not threading.main_thread())

# ---------------------------------------------------------------------------------------------


class _Waiter:
    """A simulated wait: released when the clock reaches its deadline."""

    __slots__ = ("deadline_modelled", "deadline_total", "thread", "wake", "state")

    def __init__(self, deadline_modelled: float, deadline_total: float, thread: int | None,
                 wake: Callable[[], None]) -> None:
        self.deadline_modelled = deadline_modelled
        self.deadline_total = deadline_total
        self.thread = thread  # the blocked thread of a sync wait; None for async waits and timers
        self.wake = wake
        self.state = "waiting"  # -> "released" -> "done", or -> "cancelled"


class SimClock(Clock):
    """The simulator's clock (see the module docstring). Thread-safe; any number of event loops.

    `pace`: real seconds per simulated second of a jump (0: none). Every thread takes part in the
    simulation except those already running when labkit was imported (a kernel's own: its heartbeat
    and I/O threads) other than the main thread, until they wait on the clock. `include_creator`
    False leaves out the thread that creates the clock too (a server's, whose handler threads do
    the waiting, while it only listens).
    """

    simulated = True

    def __init__(self, pace: float = 0.0, *, include_creator: bool = True) -> None:
        self.pace = pace
        self._lock = threading.RLock()  # re-entered when a wake-up runs in place (a closed loop)
        self._changed = threading.Condition(self._lock)
        self._version = 0               # bumped by every registration, release and cancellation
        self._modelled = 0.0
        self._base_total = 0.0          # total seconds at `_base_wall`, or where it stands frozen
        self._base_wall = time.perf_counter()
        self._frozen = False            # during a jump local time stands still
        self._releasing: _Waiter | None = None  # released, not running again yet
        self._heap: list[tuple[float, int, _Waiter]] = []
        self._order = itertools.count()
        self._waiting: set[int] = set()  # threads blocked in a sync wait
        self._cpu: dict[int, collections.deque[tuple[float, float]]] = {}  # thread -> (wall, cpu) samples
        self._check = threading.Lock()
        self._outsiders = set(_BEFORE_LABKIT)
        if not include_creator:
            self._outsiders.add(threading.get_ident())
        self._scheduler: threading.Thread | None = None
        self._pinned = threading.local()

    @property
    def pace(self) -> float:
        return self._pace

    @pace.setter
    def pace(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise UsageError(f"pace must be a number of seconds ≥ 0, got {value!r}")
        self._pace = float(value)

    # -- reading -------------------------------------------------------------------------------

    def _total(self) -> float:
        if self._frozen:
            return self._base_total
        return self._base_total + (time.perf_counter() - self._base_wall)

    def read(self) -> Reading:
        with self._lock:
            return Reading(self._modelled, self._total() - self._modelled)

    def now(self) -> float:
        with self._lock:
            return self._total()

    def timestamp(self) -> float:
        pinned = getattr(self._pinned, "at", None)
        return pinned if pinned is not None else EPOCH + self.now()

    def timestamp_of(self, reading: Reading) -> float:
        """What `timestamp()` read when `reading` was taken (a reading of this clock)."""
        return EPOCH + reading.total

    @contextlib.contextmanager
    def pinned(self, instant: float) -> Iterator[None]:
        """Let this thread's `timestamp()` read `instant`: a batch request is answered at its
        scheduled start, while other threads keep the clock."""
        previous = getattr(self._pinned, "at", None)
        self._pinned.at = instant
        try:
            yield
        finally:
            self._pinned.at = previous

    def advance(self, seconds: float) -> None:
        """Jump ahead without waiting ("an hour later"): modelled time, as a pause would be."""
        if not seconds >= 0:
            raise UsageError("the clock only moves forward")
        with self._lock:
            self._modelled += seconds
            self._base_total += seconds

    # -- waiting -------------------------------------------------------------------------------

    def _register(self, seconds: float, since: Reading | None, wake: Callable[[], None], *,
                  blocking: bool) -> _Waiter | None:
        """A new waiter, or None when its deadline has already passed (nothing to wait for)."""
        _check_seconds(seconds)
        me = threading.get_ident()
        with self._lock:
            total = self._total()
            start = since if since is not None else Reading(self._modelled, total - self._modelled)
            waiter = _Waiter(start.modelled + seconds, start.total + seconds, me if blocking else None, wake)
            if waiter.deadline_modelled <= self._modelled and waiter.deadline_total <= total:
                return None
            heapq.heappush(self._heap, (waiter.deadline_modelled, next(self._order), waiter))
            if blocking:
                self._waiting.add(me)
            self._outsiders.discard(me)  # a thread that waits on the simulation takes part in it
            self._bump()
        self._ensure_scheduler()
        return waiter

    def sleep(self, seconds: float, *, since: Reading | None = None) -> None:
        """Wait `seconds` of simulated time in this thread (no real wait at all at pace 0)."""
        event = threading.Event()
        waiter = self._register(seconds, since, event.set, blocking=True)
        if waiter is None:
            return
        try:
            self._try_release()  # the common case: this was the last thread still running
            event.wait()
        finally:
            self._finish(waiter)

    async def asleep(self, seconds: float, *, since: Reading | None = None) -> None:
        """Wait `seconds` of simulated time in this task; the event loop goes on meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle() -> None:
            if not future.done():
                future.set_result(None)

        waiter = self._register(seconds, since, lambda: _call_soon(loop, settle), blocking=False)
        if waiter is None:
            return
        try:
            await future
        finally:
            self._finish(waiter)

    @contextlib.asynccontextmanager
    async def timeout(self, seconds: float | None) -> AsyncIterator[Deadline]:
        deadline = Deadline()
        if seconds is None:
            yield deadline
            return
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("clock.timeout() must be used inside a task")

        def fire() -> None:
            if waiter.state == "released":
                deadline._expired = True
                task.cancel()
            self._finish(waiter)

        registered = self._register(seconds, None, lambda: _call_soon(loop, fire), blocking=False)
        if registered is None:  # a budget of 0 s is spent before the block starts
            deadline._expired = True
            raise TimeoutError("no result within 0 s")
        waiter = registered
        try:
            yield deadline
        except asyncio.CancelledError:
            if deadline.expired() and task.uncancel() == 0:
                raise TimeoutError(f"no result within {seconds:g} s") from None
            raise
        finally:
            self._finish(waiter)

    def _finish(self, waiter: _Waiter) -> None:
        """A wait ends: released (its code runs again, local time moves on) or abandoned."""
        with self._lock:
            if waiter.state == "waiting":
                waiter.state = "cancelled"  # stays in the heap, skipped when it comes up
            elif waiter.state == "released":
                waiter.state = "done"
                self._releasing = None
                if self._frozen:
                    self._frozen = False
                    self._base_wall = time.perf_counter()
            else:
                return
            if waiter.thread is not None:
                self._waiting.discard(waiter.thread)
            self._bump()

    def _bump(self) -> None:
        self._version += 1
        self._changed.notify_all()

    # -- releasing -----------------------------------------------------------------------------

    def _ensure_scheduler(self) -> None:
        with self._lock:
            if self._scheduler is not None and self._scheduler.is_alive():
                return
            self._scheduler = threading.Thread(target=self._run, daemon=True, name="labkit-clock")
            self._scheduler.start()
            self._outsiders.add(self._scheduler.ident)  # type: ignore[arg-type]

    def _next(self) -> _Waiter | None:
        """The earliest waiter still waiting (drops abandoned ones); call with the lock held."""
        while self._heap:
            waiter = self._heap[0][2]
            if waiter.state == "waiting":
                return waiter
            heapq.heappop(self._heap)
        return None

    def _try_release(self) -> None:
        """Release the earliest waiter now if everything waits (unpaced clocks only)."""
        if self._pace or self._releasing is not None or not self._quiescent():
            return
        with self._lock:
            target = self._next()
            if target is not None and self._releasing is None:
                self._release(target)

    def _release(self, waiter: _Waiter) -> None:
        """Jump to `waiter`'s deadline and wake it; call with the lock held."""
        heapq.heappop(self._heap)
        self._base_total = max(self._total(), waiter.deadline_total)
        self._frozen = True
        self._modelled = max(self._modelled, waiter.deadline_modelled)
        waiter.state = "released"
        self._releasing = waiter
        self._bump()
        waiter.wake()

    def _run(self) -> None:
        """The scheduler thread: whenever everything waits, jump to the next deadline. It ends once
        nothing has been left to release for SCHEDULER_IDLE_S (a grader makes a clock per check:
        threads that never ended would pile up), and the next wait starts another."""
        poll, seen, since = _POLL_MIN_S, -1, time.perf_counter()
        while True:
            with self._lock:
                while self._releasing is not None or self._next() is None:
                    if not self._changed.wait(SCHEDULER_IDLE_S) and self._releasing is None \
                            and self._next() is None:
                        self._scheduler = None
                        self._outsiders.discard(threading.get_ident())  # idents are reused
                        return
                    since = time.perf_counter()
                if self._version != seen:
                    poll, seen, since = _POLL_MIN_S, self._version, time.perf_counter()
            if not self._quiescent():
                if time.perf_counter() - since < LAST_RESORT_S:
                    with self._lock:
                        if self._version == seen:
                            self._changed.wait(poll)
                    poll = min(poll * 2, _POLL_MAX_S)
                    continue
                log.warning("labkit clock: simulated waits have been due for %.0f s of real time while "
                            "%s kept running; releasing the next one anyway (a thread that spins waiting "
                            "for a simulated call should wait on a lock, an event or a future)",
                            LAST_RESORT_S, self._running_description())
            since = time.perf_counter()
            with self._lock:
                target = self._next()
                if target is None or self._releasing is not None:
                    continue
                if self._pace:
                    target = self._hold(target)
                    if target is None:
                        continue
                self._release(target)

    def _hold(self, target: _Waiter) -> _Waiter | None:
        """Pace a jump: local time stands still for `pace` x the jump in real time (lock held).
        Returns the waiter to release, or None when something started running meanwhile."""
        self._base_total, self._frozen = self._total(), True
        began = time.perf_counter()
        while True:
            hold = self._pace * max(0.0, target.deadline_total - self._base_total)
            left = began + hold - time.perf_counter()
            version = self._version
            if left > 0:
                self._changed.wait(left)
            if self._version != version:  # a new or abandoned wait: look again
                earliest = self._next()
                if earliest is None:
                    break
                target = earliest
                continue
            if left <= 0:
                break
        self._lock.release()
        try:
            still = self._quiescent()
        finally:
            self._lock.acquire()
        earliest = self._next()
        if still and earliest is not None and self._releasing is None:
            return earliest
        self._frozen = False
        self._base_wall = time.perf_counter()
        return None

    def _quiescent(self) -> bool:
        """Whether every thread taking part is waiting (read from each thread's innermost frame)."""
        with self._check:
            if threading._limbo:  # type: ignore[attr-defined]  # a thread starting: it will run
                return False
            frames = _current_frames()
            with self._lock:
                waiting, outsiders = set(self._waiting), set(self._outsiders)
                if self._releasing is not None:
                    return False
            now = time.perf_counter()
            for ident, frame in frames.items():
                if ident in outsiders:
                    continue
                blocked = _WAITS.get(frame.f_code)
                if ident in waiting or (blocked is not None and _safely(blocked, frame, frames)):
                    self._cpu.pop(ident, None)  # idleness counts over one unbroken stretch of running
                    continue
                if not self._idle(ident, now):
                    return False
            for ident in [i for i in self._cpu if i not in frames]:
                del self._cpu[ident]
            return True

    def _running_description(self) -> str:
        """Which threads keep the simulation from jumping, and where: for the last-resort warning."""
        names = {t.ident: t.name for t in threading.enumerate()}
        found = []
        with self._check:
            frames = _current_frames()
            waiting = set(self._waiting) | self._outsiders
            for ident, frame in frames.items():
                blocked = _WAITS.get(frame.f_code)
                if ident in waiting or (blocked is not None and _safely(blocked, frame, frames)):
                    continue
                found.append(f"thread {names.get(ident, ident)!r} in {frame.f_code.co_filename}:{frame.f_lineno}")
        return ", ".join(found) or "a thread"

    def _idle(self, ident: int, now: float) -> bool:
        """The safety net: whether a thread the frame table does not recognise has used less than
        `IDLE_CPU_SHARE` of a core over the last `IDLE_WINDOW_S` (call with `_check` held)."""
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(ident))
        except (AttributeError, OSError, OverflowError):
            return False
        samples = self._cpu.setdefault(ident, collections.deque())
        samples.append((now, cpu))
        while len(samples) > 2 and now - samples[1][0] >= IDLE_WINDOW_S:
            samples.popleft()
        then, cpu_then = samples[0]
        return now - then >= IDLE_WINDOW_S and (cpu - cpu_then) < IDLE_CPU_SHARE * (now - then)

    def __repr__(self) -> str:
        reading = self.read()
        return f"SimClock(modelled {reading.modelled:.3f} s, local {reading.local:.3f} s, pace {self._pace:g})"


_FRAMES_LOCK = threading.Lock()


def _current_frames() -> dict[int, types.FrameType]:
    """`sys._current_frames()` with the cyclic collector paused: on CPython 3.11 a collection that
    starts inside it can free a `threading.local` and deadlock on the runtime's lock for good
    (python/cpython#106883, fixed in 3.12). The lock keeps two clocks from re-enabling it early."""
    if sys.version_info >= (3, 12):
        return sys._current_frames()
    with _FRAMES_LOCK:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return sys._current_frames()
        finally:
            if enabled:
                gc.enable()


def _safely(blocked: _Blocked, frame: types.FrameType, frames: dict[int, types.FrameType]) -> bool:
    try:
        return blocked(frame, frames)
    except Exception:  # the frame moved on while we looked: the thread is running
        return False


def _check_seconds(seconds: float) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise UsageError(f"a wait needs a number of seconds ≥ 0, got {seconds!r}")


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:  # the loop has closed: run it here, so that the wait is finished
        callback()
