"""The one clock: simulated time that does not depend on the machine, its load or the pace.

The figures asserted here are properties of the design, not of a fast machine: each timing test runs
while two busy processes keep both cores loaded, and none of them measures real time except to
check that simulated waits cost (almost) none of it.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest

import labkit
from labkit import backend, parallel
from labkit import clock as clock_module
from labkit.clock import EPOCH, Reading, SimClock, WallClock
from labkit.parallel import Task
from labkit.sim import SimAPI
from labkit.timing import Timer

HAIKU = "claude-haiku-5-5"
SCALES = (0.001, 0.01, 0.1)


def ask(i: int, max_tokens: int = 150) -> dict[str, Any]:
    return {"model": HAIKU, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": f"Explain decoherence for listeners, take {i}."}]}


@pytest.fixture(scope="module")
def cpu_hog() -> Iterator[None]:
    """Two processes that keep both cores busy for the whole module."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    time.sleep(0.2)
    yield
    for hog in hogs:
        hog.kill()
        hog.wait()


@pytest.fixture
def paced(request: pytest.FixtureRequest) -> Iterator[SimAPI]:
    """The configured simulator at the time scale the test is parametrised with, spied on: every
    modelled latency it answers with is appended to `api.latencies`."""
    labkit.configure(backend="sim", seed=0, time_scale=request.param)
    backend.reset_simulator()
    api = backend.simulator()
    api.latencies = []  # type: ignore[attr-defined]
    handle = api.handle

    def spy(sim_request: Any) -> Any:
        response = handle(sim_request)
        api.latencies.append(response.latency)  # type: ignore[attr-defined]
        return response

    api.handle = spy  # type: ignore[method-assign]
    yield api
    labkit.configure()
    backend.reset_simulator()


@pytest.mark.parametrize("paced", SCALES, indirect=True)
def test_twelve_sequential_calls_take_the_sum_of_their_latencies(paced: SimAPI, cpu_hog: None) -> None:
    client = labkit.client(max_retries=0)
    timer = Timer("sequential")
    with timer:
        for i in range(12):
            client.messages.create(**ask(i))
    latencies = paced.latencies  # type: ignore[attr-defined]
    assert len(latencies) == 12
    reading = timer.readings[0]
    assert reading.modelled == pytest.approx(sum(latencies), rel=1e-12)
    assert reading.total == pytest.approx(sum(latencies), rel=0.01)  # local work: the SDK's, real


@pytest.mark.parametrize("paced", SCALES, indirect=True)
def test_three_calls_from_a_learners_thread_pool_take_the_longest(paced: SimAPI, cpu_hog: None) -> None:
    client = labkit.client(max_retries=0)
    timer = Timer("pool")
    with timer, ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda i: client.messages.create(**ask(i, 100 + 200 * i)), range(3)))
    longest = max(paced.latencies)  # type: ignore[attr-defined]
    assert timer.last == pytest.approx(longest, rel=1e-12)
    assert timer.readings[0].total == pytest.approx(longest, rel=0.01)


@pytest.mark.parametrize("paced", (0.001,), indirect=True)
def test_three_calls_with_asyncio_gather_take_the_longest(paced: SimAPI, cpu_hog: None) -> None:
    async def main() -> Reading:
        client = labkit.async_client(max_retries=0)
        timer = Timer("gather")
        with timer:
            await asyncio.gather(*(client.messages.create(**ask(i, 100 + 200 * i)) for i in range(3)))
        return timer.readings[0]

    reading = asyncio.run(main())
    longest = max(paced.latencies)  # type: ignore[attr-defined]
    assert reading.modelled == pytest.approx(longest, rel=1e-12)
    assert reading.total == pytest.approx(longest, rel=0.01)


@pytest.mark.parametrize("paced", (0.001,), indirect=True)
def test_three_calls_with_the_parallel_runner_take_the_longest(paced: SimAPI, cpu_hog: None) -> None:
    client = labkit.async_client(max_retries=0)
    tasks = [parallel.message_task(client, **ask(i, 100 + 200 * i)) for i in range(3)]
    results = parallel.run(tasks, concurrency=3, progress=False)
    latencies = paced.latencies  # type: ignore[attr-defined]
    assert results.elapsed == pytest.approx(max(latencies), rel=1e-12)
    assert sorted(r.seconds for r in results) == pytest.approx(sorted(latencies), rel=1e-12)
    assert results.duration.total == pytest.approx(max(latencies), rel=0.01)


@pytest.mark.parametrize("paced", (0.0,), indirect=True)
def test_a_bounded_pool_queues_in_modelled_order(paced: SimAPI, cpu_hog: None) -> None:
    """Two workers, four waits of 1, 3, 2 and 1 s: the third starts when the first ends (at 1 s),
    the fourth when the third ends (at 3 s): 4 s in all, however the threads are scheduled."""
    clock = backend.clock()
    for _ in range(20):
        before = clock.read()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(clock.sleep, [1.0, 3.0, 2.0, 1.0]))
        assert (clock.read() - before).modelled == 4.0


def _durations(shape: int) -> dict[str, float]:
    return {name: 1.0 + ((shape * 7 + i * 3) % 5) for i, name in enumerate("abcdef")}


@pytest.mark.parametrize("paced", (0.0,), indirect=True)
@pytest.mark.parametrize("shape", range(6))
def test_a_staged_run_is_never_reported_faster_than_its_graph(paced: SimAPI, cpu_hog: None, shape: int) -> None:
    """Stage 1: a, b, c; stage 2: d (after a), e (after b), f (after a and c). The graph starts each
    step when its own inputs are ready; the stages wait for all of stage 1."""
    clock = backend.clock()
    seconds = _durations(shape)

    def step(name: str) -> Any:
        async def run(**_: Any) -> str:
            await clock.asleep(seconds[name])
            return name
        return run

    after = {"d": ["a"], "e": ["b"], "f": ["a", "c"]}
    stages = parallel.run_stages([[Task(step(n), n) for n in "abc"], [Task(step(n), n) for n in "def"]],
                                 progress=False)
    graph = parallel.run_graph({n: Task(step(n), n, after=after.get(n, ())) for n in "abcdef"}, progress=False)
    staged = stages[-1].end.modelled - stages[0].start.modelled
    path = parallel.critical_path(seconds, after)
    assert graph.elapsed == pytest.approx(path.seconds, rel=1e-12)
    assert staged >= graph.elapsed
    assert staged == pytest.approx(max(seconds[n] for n in "abc") + max(seconds[n] for n in "def"), rel=1e-12)


def _lesson_like_run() -> list[float]:
    """Sequential calls, a parallel run and a stream: every modelled figure they report."""
    client = labkit.client(max_retries=0)
    timer = Timer()
    for i in range(3):
        with timer:
            client.messages.create(**ask(i))
    results = parallel.run([parallel.message_task(labkit.async_client(max_retries=0), **ask(i)) for i in range(5)],
                           concurrency=2, progress=False)
    with timer, client.messages.stream(**ask(9)) as stream:
        stream.get_final_message()
    return [*timer.samples, results.elapsed, *(r.seconds for r in results), *(r.started for r in results)]


def test_the_same_seed_gives_identical_simulated_seconds() -> None:
    runs = []
    for scale in (0.0, 0.0, 0.002):
        labkit.configure(backend="sim", seed=0, time_scale=scale)
        backend.reset_simulator()
        runs.append(_lesson_like_run())
    labkit.configure()
    backend.reset_simulator()
    assert runs[0] == runs[1] == runs[2]  # exactly: not within a tolerance


# --- the clock on its own --------------------------------------------------------------------------


def test_a_simulated_wait_costs_no_real_time_at_pace_zero() -> None:
    clock = SimClock()
    started = time.perf_counter()
    for _ in range(200):
        clock.sleep(30.0)
    assert clock.read().modelled == 6000.0
    assert time.perf_counter() - started < 2


def test_pace_sets_real_time_only() -> None:
    clock = SimClock(0.01)
    started = time.perf_counter()
    clock.sleep(20.0)
    wall = time.perf_counter() - started
    assert clock.read().modelled == 20.0
    assert 0.19 < wall < 1.0
    assert clock.read().local < 0.05  # the paced pause is not local work


def test_local_work_counts_at_its_real_duration() -> None:
    clock = SimClock()
    before = clock.read()
    time.sleep(0.05)  # a stand-in for the learner's own code
    spent = clock.read() - before
    assert spent.modelled == 0.0
    assert 0.05 <= spent.local < 0.5


def test_since_counts_a_wait_from_an_earlier_reading() -> None:
    clock = SimClock()
    arrived = clock.read()
    time.sleep(0.02)  # the service's own compute, inside its modelled latency
    clock.sleep(1.0, since=arrived)
    assert clock.read().total == pytest.approx(arrived.total + 1.0, abs=0.005)
    clock.sleep(0.5, since=arrived)  # already past: returns at once
    assert clock.read().modelled == 1.0


def test_timeouts_fire_on_simulated_time() -> None:
    clock = SimClock()

    async def main() -> tuple[bool, float]:
        before = clock.read()
        expired = False
        try:
            async with clock.timeout(2.5) as deadline:
                await clock.asleep(10)
        except TimeoutError:
            expired = deadline.expired()
        return expired, (clock.read() - before).modelled

    assert asyncio.run(main()) == (True, 2.5)


def test_a_timeout_that_does_not_fire_leaves_no_trace() -> None:
    clock = SimClock()

    async def main() -> float:
        async with clock.timeout(100) as deadline:
            await clock.asleep(1)
        assert not deadline.expired()
        await clock.asleep(1)
        return clock.read().modelled

    assert asyncio.run(main()) == 2.0


def test_a_cancelled_wait_is_forgotten() -> None:
    clock = SimClock()

    async def main() -> float:
        long = asyncio.ensure_future(clock.asleep(100))
        await asyncio.sleep(0)
        long.cancel()
        await asyncio.gather(long, return_exceptions=True)
        await clock.asleep(1)
        return clock.read().modelled

    assert asyncio.run(main()) == 1.0


def test_a_thread_stuck_in_an_unknown_call_cannot_hold_time_still() -> None:
    """A participating thread blocked in a C call the clock does not know (here `time.sleep`) is
    treated as waiting once it has used no CPU for a while: the other threads' waits go on."""
    clock = SimClock()
    sleeper = threading.Thread(target=time.sleep, args=(1.0,), daemon=True)
    sleeper.start()
    started = time.perf_counter()
    clock.sleep(5.0)
    assert time.perf_counter() - started < 0.8
    assert clock.read().modelled == 5.0
    sleeper.join()



def test_idle_clocks_do_not_keep_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A grader makes a fresh simulator, so a fresh clock, per check: their schedulers must end."""
    monkeypatch.setattr(clock_module, "SCHEDULER_IDLE_S", 0.05)
    before = sum(t.name == "labkit-clock" for t in threading.enumerate())
    clocks = [SimClock() for _ in range(20)]
    for clock in clocks:
        clock.sleep(1.0)
    deadline = time.monotonic() + 5
    while sum(t.name == "labkit-clock" for t in threading.enumerate()) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sum(t.name == "labkit-clock" for t in threading.enumerate()) <= before
    clocks[0].sleep(2.0)  # a clock whose scheduler ended starts another when it is needed
    assert clocks[0].read().modelled == 3.0


@pytest.mark.parametrize("enabled", [True, False])
def test_reading_the_threads_frames_leaves_the_collector_as_it_was(enabled: bool) -> None:
    """The frames are read with the collector paused (a CPython 3.11 deadlock), then restored."""
    import gc

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert threading.get_ident() in clock_module._current_frames()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()

def test_advance_and_pinned_timestamps() -> None:
    clock = SimClock()
    clock.advance(3600)
    assert clock.read().modelled == 3600 and clock.timestamp() >= EPOCH + 3600
    with clock.pinned(EPOCH + 42):
        assert clock.timestamp() == EPOCH + 42
    assert clock.timestamp() > EPOCH + 3600
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize("bad", [-1, float("nan"), "3", True, None])
def test_bad_waits_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="seconds"):
        SimClock().sleep(bad)
    with pytest.raises(ValueError, match="seconds"):
        WallClock().sleep(bad)


def test_bad_pace_is_refused() -> None:
    with pytest.raises(ValueError, match="pace"):
        SimClock(-0.5)


def test_the_wall_clock_models_nothing() -> None:
    clock = WallClock()
    before = clock.read()
    clock.sleep(0.02)
    spent = clock.read() - before
    assert spent.modelled == 0.0 and spent.local >= 0.02 and not clock.simulated


def test_the_sdk_still_computes_its_retry_wait_the_way_the_override_assumes() -> None:
    """labkit's clients replace the SDK's `_sleep_for_retry` with a simulated wait of the same length;
    if the SDK changes how it computes that length, this fails."""
    for base in (anthropic.Anthropic, anthropic.AsyncAnthropic):
        original = inspect.signature(base._sleep_for_retry)
        assert list(original.parameters) == ["self", "retries_taken", "max_retries", "options", "response"]
        assert "_calculate_retry_timeout" in inspect.getsource(base._sleep_for_retry)
        assert list(inspect.signature(base._calculate_retry_timeout).parameters) == [
            "self", "remaining_retries", "options", "response_headers"]
