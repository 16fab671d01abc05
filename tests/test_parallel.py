"""labkit.parallel: order, bounded concurrency, failures, timeouts, retries, limits, stages, graphs.

Most tests use fake callables at time scale 0; waits, timeouts and back-off are simulated, so they
cost no real time. The simulator appears only where its behaviour (429s at tier1, faults) is the point.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import threading
import time

import anthropic
import httpx2
import pytest

import labkit
from labkit import backend, parallel
from labkit.clock import SimClock
from labkit.parallel import (AttemptTimeoutError, DependencyError, ParallelError, RateLimiter, Retry, Task,
                             TaskTimeoutError)

MODEL = "claude-haiku-5-5"
FAST = Retry(base_delay=0.001, max_delay=0.002)  # back-off without retry-after: milliseconds


@pytest.fixture(autouse=True)
def offline_config():
    labkit.configure(backend="sim", seed=0, time_scale=0)
    backend.reset_simulator()
    yield
    labkit.configure()
    backend.reset_simulator()


def api_error(cls: type[anthropic.APIStatusError], status: int, **headers: str) -> anthropic.APIStatusError:
    """An SDK exception as the client raises it, with a real httpx2 response carrying `headers`."""
    request = httpx2.Request("POST", "http://api.sim.labkit.invalid/v1/messages")
    response = httpx2.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()},
                               request=request)
    return cls(f"fake {status}", response=response, body=None)


def flaky(failures: list[BaseException], value: object = "done"):
    """An async function that raises each of `failures` in turn, then returns `value`."""
    remaining = list(failures)

    async def call():
        if remaining:
            raise remaining.pop(0)
        return value
    return call


def options(**extra):
    return {"progress": False, **extra}


# ---------------------------------------------------------------------------------------------
# Order, concurrency, sync and async


def test_results_come_in_input_order_whatever_order_tasks_finish_in():
    finished = []

    async def task(i):
        await asyncio.sleep(0.002 * (5 - i))
        finished.append(i)
        return i * 10

    results = parallel.run([functools.partial(task, i) for i in range(5)], **options())
    assert finished == [4, 3, 2, 1, 0]
    assert results.values() == [0, 10, 20, 30, 40]
    assert [r.index for r in results] == list(range(5)) and results.ok


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_concurrency_is_bounded(kind):
    in_flight = peak = 0
    lock = threading.Lock()

    def enter():
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)

    def leave():
        nonlocal in_flight
        with lock:
            in_flight -= 1

    async def async_task():
        enter()
        await asyncio.sleep(0.005)
        leave()

    def sync_task():
        enter()
        time.sleep(0.005)
        leave()

    task = async_task if kind == "async" else sync_task
    results = parallel.run([task] * 12, concurrency=3, **options())
    assert results.ok and len(results) == 12
    assert peak == 3


def test_sync_callables_run_in_threads_and_do_not_block_each_other():
    def blocking(i):
        time.sleep(0.05)
        return threading.get_ident(), i

    started = time.perf_counter()
    results = parallel.map(blocking, range(4), concurrency=4, **options())
    assert time.perf_counter() - started < 0.15  # 4 x 50 ms in parallel, not 200 ms
    assert [i for _, i in results.values()] == [0, 1, 2, 3]
    assert len({ident for ident, _ in results.values()}) == 4
    assert results[2].name == "2"


def test_a_function_returning_a_coroutine_is_awaited():
    async def answer():
        return 42

    results = parallel.run([lambda: answer()], **options())
    assert results.values() == [42]


def test_async_clients_methods_are_recognised_as_async():
    client = labkit.async_client(max_retries=0)
    task = parallel.message_task(client, model=MODEL, max_tokens=50,
                                 messages=[{"role": "user", "content": "Research chaos theory."}])
    assert task.is_async and task.output_tokens == 50 and task.input_tokens > 0
    sync_task = parallel.message_task(labkit.client(max_retries=0), model=MODEL, max_tokens=50,
                                      messages=[{"role": "user", "content": "Research chaos theory."}])
    assert not sync_task.is_async
    unknown = parallel.message_task(client, model="claude-haiku-9-9", max_tokens=10,
                                    messages=[{"role": "user", "content": "Hi"}])
    assert unknown.input_tokens > 0  # estimated with the default profile; the API answers for the model
    results = parallel.run([unknown], **options())
    assert isinstance(results[0].error, anthropic.NotFoundError) and results[0].attempts == 1


@pytest.mark.parametrize("make_client", [labkit.client, labkit.async_client])
def test_message_tasks_against_the_simulator(make_client):
    client = make_client(max_retries=0)
    topics = ["the observer effect", "decoherence", "chaos theory"]
    tasks = [parallel.message_task(client, name=t, model=MODEL, max_tokens=80,
                                   messages=[{"role": "user", "content": f"Research {t}."}]) for t in topics]
    results = parallel.run(tasks, **options())
    assert results.ok and [r.name for r in results] == topics
    assert all(m.usage.output_tokens > 0 for m in results.values())


def test_arun_works_inside_a_running_loop_and_run_inside_a_loop_thread():
    async def double(x):
        return 2 * x

    async def main():
        direct = await parallel.amap(double, [1, 2, 3], **options())
        bridged = parallel.run([functools.partial(double, 4)], **options())  # as in a notebook cell
        return direct.values(), bridged.values()

    assert asyncio.run(main()) == ([2, 4, 6], [8])


def test_the_blocking_run_inside_labkits_own_loop_says_to_await():
    async def nested():
        return parallel.run([lambda: 1], **options())

    results = parallel.run([nested], **options())
    assert isinstance(results[0].error, ParallelError)
    assert "await" in str(results[0].error)


def test_empty_task_list():
    results = parallel.run([], **options())
    assert len(results) == 0 and results.ok and results.values() == []


def test_progress_bar_counts_finished_tasks_in_modelled_seconds(capsys):
    async def call():
        await backend.clock().asleep(2.5)
        return 1

    results = parallel.run([call] * 3, concurrency=1, progress=True, desc="agents")
    err = capsys.readouterr().err  # tqdm's text bar outside notebooks
    assert "agents" in err and "3/3 tasks" in err and "modelled=7.5 s" in err
    assert "it/s" not in err and "task/s" not in err  # no wall-clock rate offline
    assert results.values() == [1, 1, 1]


def test_drawing_the_progress_bar_is_not_counted_as_run_time(monkeypatch):
    class SlowBar:
        def __init__(self, total, desc, simulated):
            time.sleep(0.05)  # a notebook widget takes tens of milliseconds to appear

        def update(self, n):
            pass

        def set_postfix(self, postfix, refresh):
            pass

        def close(self):
            time.sleep(0.05)

    monkeypatch.setattr(parallel.engine, "_progress_bar", SlowBar)
    results = parallel.run([lambda: 1], progress=True)
    assert results[0].start.local < 0.03 and results.duration.local < 0.03  # local time: the bar's left out
    first, second = parallel.run_stages([[lambda: 1], lambda _: [lambda: 2]], progress=True)
    assert (second[0].start - first.end).local < 0.03


# ---------------------------------------------------------------------------------------------
# Failures and timeouts


def test_a_failing_task_keeps_the_others_results():
    def broken():
        raise ValueError("no sources found")

    results = parallel.run([lambda: "a", broken, lambda: "c"], **options())
    assert results.values() == ["a", None, "c"]
    assert results.values(default="?") == ["a", "?", "c"]
    assert not results.ok and [r.index for r in results.errors] == [1]
    assert isinstance(results[1].error, ValueError) and results[1].attempts == 1  # not retryable
    assert "ValueError: no sources found" in results.table()
    overloaded = parallel.run([flaky([api_error(anthropic.OverloadedError, 529)])], retry=parallel.NO_RETRY, **options())
    assert overloaded[0].status() == "OverloadedError (529)"
    with pytest.raises(ValueError):
        results[1].unwrap()


def test_a_hanging_task_times_out_and_the_others_finish():
    async def hang():
        await asyncio.Event().wait()

    started = time.perf_counter()
    results = parallel.run([hang, lambda: "ok"], timeout=0.05, **options())
    assert time.perf_counter() - started < 0.5
    assert isinstance(results[0].error, TaskTimeoutError) and results[1].value == "ok"
    assert results[0].seconds == pytest.approx(0.05, abs=1e-9)  # a simulated timeout: exact


def test_a_slow_sync_task_exceeds_its_timeout_and_is_abandoned():
    release = threading.Event()

    def slow():
        release.wait(5)
        return "late"

    results = parallel.run([slow, lambda: "quick"], timeout=0.03, **options())
    release.set()
    assert isinstance(results[0].error, TaskTimeoutError)
    assert results[1].value == "quick"


def test_an_abandoned_sync_call_does_not_hold_up_the_tasks_after_it():
    release = threading.Event()

    def hangs():
        release.wait(5)

    started = time.perf_counter()
    results = parallel.run([hangs, lambda: "next"], concurrency=1, timeout=0.03, **options())
    assert time.perf_counter() - started < 1
    assert isinstance(results[0].error, TaskTimeoutError) and results[1].value == "next"
    release.set()


def test_task_threads_are_reused_and_exit_after_the_run():
    idents = parallel.run([threading.get_ident] * 20, concurrency=2, **options()).values()
    assert len(set(idents)) < 10  # reused, not one thread per call (a busy machine may add a spare or two)
    deadline = time.monotonic() + 2
    while any(t.name == "labkit-task" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "labkit-task" for t in threading.enumerate())


def test_the_timeout_covers_retries_too():
    always_busy = flaky([api_error(anthropic.OverloadedError, 529, retry_after_ms="20")] * 10)
    results = parallel.run([always_busy], timeout=0.05, retry=Retry(max_attempts=10), **options())
    assert isinstance(results[0].error, TaskTimeoutError)
    assert 2 <= results[0].attempts <= 4


def test_a_tasks_own_timeout_error_is_not_mistaken_for_the_deadline():
    async def own():
        raise TimeoutError("upstream timed out")

    results = parallel.run([own], timeout=10, **options())
    assert type(results[0].error) is TimeoutError


def test_attempt_timeout_abandons_a_hung_attempt_and_retries():
    calls = 0

    async def hangs_once():
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.Event().wait()
        return "second time lucky"

    results = parallel.run([hangs_once], retry=Retry(attempt_timeout=0.02, base_delay=0.001), **options())
    assert results[0].value == "second time lucky" and results[0].attempts == 2
    assert isinstance(results[0].retried[0], AttemptTimeoutError)


# ---------------------------------------------------------------------------------------------
# Retries


def test_a_429_storm_ends_in_success_within_max_attempts():
    storm = [api_error(anthropic.RateLimitError, 429, retry_after_ms="1") for _ in range(3)]
    tasks = [flaky(list(storm), value=i) for i in range(20)]
    results = parallel.run(tasks, concurrency=20, retry=Retry(max_attempts=4), **options())
    assert results.ok and results.values() == list(range(20))
    assert all(r.attempts == 4 and len(r.retried) == 3 for r in results)
    assert all(isinstance(e, anthropic.RateLimitError) for r in results for e in r.retried)
    assert all(r.backoff == pytest.approx(0.003, abs=0.002) for r in results)  # 3 x retry-after-ms 1


def test_a_429_storm_longer_than_max_attempts_is_captured():
    storm = [api_error(anthropic.RateLimitError, 429, retry_after="0.001") for _ in range(10)]
    results = parallel.run([flaky(storm), lambda: "fine"], retry=Retry(max_attempts=3), **options())
    assert isinstance(results[0].error, anthropic.RateLimitError) and results[0].attempts == 3
    assert results[1].value == "fine"


def test_429s_from_the_simulator_at_tier1_are_retried_until_they_pass():
    labkit.configure(backend="sim", seed=0, time_scale=0.0005)
    backend.simulator().limits.set_tier("tier1")  # 8,000 output tokens per minute
    client = labkit.async_client(max_retries=0)
    tasks = [parallel.message_task(client, model=MODEL, max_tokens=2000,
                                   messages=[{"role": "user", "content": f"Research chaos theory in 1500 words, part {i}."}])
             for i in range(10)]
    results = parallel.run(tasks, concurrency=10, retry=Retry(max_attempts=20), **options())
    assert results.ok
    refusals = [e for r in results for e in r.retried]
    assert refusals and all(isinstance(e, anthropic.RateLimitError) for e in refusals)


def test_a_client_side_limiter_at_tier1_avoids_the_429s():
    # A scale of 0.002 rather than 0.0005: each request reaches the simulator a little (CPU time)
    # after the limiter let it go, and a smaller scale magnifies that lag into API-equivalent seconds.
    labkit.configure(backend="sim", seed=0, time_scale=0.002)
    backend.simulator().limits.set_tier("tier1")
    client = labkit.async_client(max_retries=0)
    tasks = [parallel.message_task(client, model=MODEL, max_tokens=2000,
                                   messages=[{"role": "user", "content": f"Research chaos theory in 1500 words, part {i}."}])
             for i in range(7)]
    limiter = RateLimiter.for_tier("tier1", headroom=0.8)
    results = parallel.run(tasks, concurrency=7, limiter=limiter, retry=Retry(max_attempts=20), **options())
    assert results.ok and results.attempts == 7
    assert sum(r.throttled for r in results) > 0  # the limiter, not the API, made them wait


@pytest.mark.parametrize("cls, status", [(anthropic.OverloadedError, 529), (anthropic.InternalServerError, 500),
                                         (anthropic.RateLimitError, 429)])
def test_retryable_statuses_are_retried(cls, status):
    results = parallel.run([flaky([api_error(cls, status)])], retry=FAST, **options())
    assert results[0].value == "done" and results[0].attempts == 2


@pytest.mark.parametrize("cls, status", [(anthropic.BadRequestError, 400), (anthropic.AuthenticationError, 401),
                                         (anthropic.NotFoundError, 404)])
def test_client_errors_are_not_retried(cls, status):
    results = parallel.run([flaky([api_error(cls, status)] * 3)], retry=FAST, **options())
    assert isinstance(results[0].error, cls) and results[0].attempts == 1


def test_x_should_retry_overrides_the_status():
    never = api_error(anthropic.RateLimitError, 429, x_should_retry="false")
    always = api_error(anthropic.BadRequestError, 400, x_should_retry="true")
    assert not parallel.is_retryable(never) and parallel.is_retryable(always)
    assert parallel.is_retryable(anthropic.APIConnectionError(request=httpx2.Request("GET", "http://x.invalid")))
    assert parallel.is_retryable(anthropic.APITimeoutError(request=httpx2.Request("GET", "http://x.invalid")))
    assert not parallel.is_retryable(ValueError("bad"))


def test_overloaded_faults_from_the_simulator_are_retried():
    labkit.configure(backend="sim", seed=0, time_scale=0.001)
    backend.simulator().faults.fail_next(2, "overloaded")
    client = labkit.async_client(max_retries=0)
    task = parallel.message_task(client, model=MODEL, max_tokens=50,
                                 messages=[{"role": "user", "content": "Research decoherence."}])
    results = parallel.run([task], **options())
    assert results.ok and results[0].attempts == 3
    assert all(isinstance(e, anthropic.OverloadedError) for e in results[0].retried)
    assert results[0].backoff > 0  # the simulator's retry-after, in API-equivalent seconds


def test_retry_after_headers():
    assert parallel.retry_after(api_error(anthropic.RateLimitError, 429, retry_after_ms="250")) == 0.25
    assert parallel.retry_after(api_error(anthropic.RateLimitError, 429, retry_after="2")) == 2.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < parallel.retry_after(api_error(anthropic.RateLimitError, 429, retry_after=later)) <= 31
    assert parallel.retry_after(api_error(anthropic.RateLimitError, 429)) is None
    assert parallel.retry_after(ValueError()) is None


def test_backoff_is_exponential_capped_and_seeded():
    policy = Retry(base_delay=0.5, max_delay=8.0, jitter=0.25)
    delays = [policy.backoff(n, "t") for n in range(1, 8)]
    assert 0.375 <= delays[0] <= 0.5 and 0.75 <= delays[1] <= 1.0 and all(d <= 8.0 for d in delays)
    assert delays[-1] >= 6.0
    assert policy.backoff(2, "t") == delays[1]  # same seed, task and attempt: same wait
    assert Retry(jitter=0).backoff(3) == 2.0


# ---------------------------------------------------------------------------------------------
# Client-side rate limiter


def test_limiter_admits_a_full_bucket_then_paces_at_the_refill_rate():
    clock = SimClock()
    limiter = RateLimiter(requests_per_minute=60, clock=clock)  # one request per second
    assert [limiter.reserve() for _ in range(60)] == [0.0] * 60
    assert limiter.reserve() == pytest.approx(1.0, abs=1e-3)  # the 61st waits for one refill
    assert limiter.reserve() == pytest.approx(2.0, abs=1e-3)  # and the next behind it: first come, first served
    clock.advance(10.0)
    assert limiter.available()["requests"] == pytest.approx(8.0, abs=1e-3)


def test_limiter_token_accounting_reserves_max_tokens_and_settles_with_usage():
    limiter = RateLimiter(input_tokens_per_minute=30_000, output_tokens_per_minute=8_000, clock=SimClock())
    assert limiter.reserve(1, input_tokens=1_000, output_tokens=2_000) == 0.0
    assert limiter.available() == pytest.approx({"input_tokens": 29_000, "output_tokens": 6_000}, abs=1)

    class Usage:
        input_tokens, cache_creation_input_tokens, output_tokens = 900, 0, 300
    limiter.settle(1_000, 2_000, Usage())
    assert limiter.available() == pytest.approx({"input_tokens": 29_100, "output_tokens": 7_700}, abs=1)
    limiter.refund(output_tokens=10_000)  # never above a full minute
    assert limiter.available()["output_tokens"] == 8_000
    assert limiter.reserve(output_tokens=50_000) == 0.0  # capped at one minute's allowance, as the API does
    assert limiter.reserve(output_tokens=8_000) == pytest.approx(60.0, abs=0.01)


def test_limiter_follows_the_servers_count_when_it_is_stricter():
    limiter = RateLimiter(requests_per_minute=50, output_tokens_per_minute=8_000, clock=SimClock())
    limiter.observe({"anthropic-ratelimit-output-tokens-remaining": "1814",
                     "anthropic-ratelimit-requests-remaining": "not a number"})
    assert limiter.available() == pytest.approx({"requests": 50, "output_tokens": 1814}, abs=1)
    limiter.observe({"anthropic-ratelimit-output-tokens-remaining": "5000"})  # never raises the count
    assert limiter.available()["output_tokens"] == pytest.approx(1814, abs=1)


def test_limiter_refuses_a_request_no_wait_could_admit():
    limiter = RateLimiter(input_tokens_per_minute=30_000, clock=SimClock())
    with pytest.raises(ParallelError, match="exceeds the limit"):
        limiter.reserve(input_tokens=40_000)


def test_limiter_waits_are_simulated_and_exact():
    labkit.configure(backend="sim", seed=0, time_scale=0.002)
    limiter = RateLimiter(requests_per_minute=2)  # a full bucket of 2, then one every 30 seconds

    async def task():
        return 1

    started = time.perf_counter()
    results = parallel.run([task] * 4, concurrency=4, limiter=limiter, **options())
    wall = time.perf_counter() - started
    waits = sorted(r.throttled for r in results)
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([30, 60], abs=0.01)  # queued at once: one refill apart
    assert results.elapsed == pytest.approx(60, abs=0.01)
    assert 0.1 < wall < 1.5  # paced: about 60 simulated seconds at time scale 0.002


def test_limiter_for_tier_uses_the_published_figures():
    limiter = RateLimiter.for_tier("tier1")
    assert limiter.limits == {"requests": 50, "input_tokens": 30_000, "output_tokens": 8_000}
    assert RateLimiter.for_tier("tier1", headroom=0.5).limits["requests"] == 25
    assert "50/min" in repr(limiter)


@pytest.mark.parametrize("kwargs", [{}, {"requests_per_minute": 0}, {"output_tokens_per_minute": -5}])
def test_limiter_bad_limits(kwargs):
    with pytest.raises(ParallelError):
        RateLimiter(**kwargs)


def test_limiter_bad_headroom_and_tier():
    with pytest.raises(ParallelError, match="headroom"):
        RateLimiter.for_tier("tier1", headroom=1.5)
    with pytest.raises(labkit.errors.LabkitError, match="unknown rate-limit tier"):
        RateLimiter.for_tier("tier9")


def test_cancelled_wait_gives_its_reservation_back():
    limiter = RateLimiter(requests_per_minute=1, clock=SimClock())
    limiter.reserve()

    async def main():
        waiting = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0)  # it starts its 60-second wait; this task runs on, so no time passes
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(main())
    assert limiter.available()["requests"] == pytest.approx(0.0, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# Stages and graphs


def test_stage_two_consumes_stage_one_and_starts_after_it():
    async def research(topic):
        await asyncio.sleep(0.01)
        return f"notes on {topic}"

    def second(batch1):
        notes = batch1.values()
        return [Task(functools.partial(str.upper, notes[0]), "script"), Task(lambda: len(notes), "count")]

    stage1, stage2 = parallel.run_stages(
        [[functools.partial(research, t) for t in ("chaos", "decoherence")], second], **options())
    assert stage2.values() == ["NOTES ON CHAOS", 2]
    assert min(r.started for r in stage2) >= stage1.finished
    assert stage2["script"].value == "NOTES ON CHAOS"


def test_stages_bad_input():
    with pytest.raises(ParallelError, match="first stage"):
        parallel.run_stages([lambda previous: []], **options())
    with pytest.raises(ParallelError, match="list"):
        parallel.run_stages(iter([[lambda: 1]]), **options())


def test_graph_steps_start_when_their_own_dependencies_are_done():
    async def step(value, delay):
        await backend.clock().asleep(delay)  # a simulated call of `delay` seconds
        return value

    async def script(core, background):
        return f"{core}+{background}"

    steps = {
        "core": functools.partial(step, "core", 0.01),
        "background": functools.partial(step, "background", 0.01),
        "slow": functools.partial(step, "slow", 0.15),
        "script": Task(script, after=["core", "background"]),
    }
    results = parallel.run_graph(steps, **options())
    assert results.values() == ["core", "background", "slow", "core+background"]
    assert results["script"].finished == pytest.approx(0.01)  # no barrier behind the slow step
    assert results["slow"].finished == pytest.approx(0.15) == results.elapsed


def test_graph_failure_skips_only_the_dependents():
    def broken():
        raise ValueError("research failed")

    steps = {"a": broken, "b": lambda: "b", "c": Task(lambda a: a, after=["a"]),
             "d": Task(lambda c: c, after=["c"]), "e": Task(lambda b: b * 2, after=["b"])}
    results = parallel.run_graph(steps, **options())
    assert results["e"].value == "bb"
    for name in ("c", "d"):
        assert isinstance(results[name].error, DependencyError)
        assert results[name].attempts == 0 and results[name].started is None
    assert [r.name for r in results] == list(steps)


def test_graph_bad_input():
    with pytest.raises(ParallelError, match="cycle"):
        parallel.run_graph({"a": Task(lambda b: b, after=["b"]), "b": Task(lambda a: a, after=["a"])}, **options())
    with pytest.raises(ParallelError, match="not a step"):
        parallel.run_graph({"a": Task(lambda x: x, after=["x"])}, **options())
    with pytest.raises(ParallelError, match="signature"):
        parallel.run_graph({"a": lambda: 1, "b": Task(lambda: 2, after=["a"])}, **options())
    with pytest.raises(ParallelError, match="identifier"):
        parallel.run_graph({"research-core": lambda: 1}, **options())
    with pytest.raises(ParallelError, match="dict"):
        parallel.run_graph([lambda: 1], **options())
    with pytest.raises(ParallelError, match="run_graph"):
        parallel.run([Task(lambda a: a, after=["a"])], **options())


def test_critical_path():
    durations = {"research": 5, "background": 4, "outline": 2, "script": 8, "review": 4}
    after = {"script": ["research", "background"], "review": ["script", "outline"]}
    path = parallel.critical_path(durations, after)
    assert path.seconds == 17 and path.steps == ["research", "script", "review"]
    assert parallel.critical_path({"a": 3, "b": 7}) == (7, ["b"])
    assert parallel.critical_path({}) == (0.0, [])
    with pytest.raises(ParallelError, match="no duration"):
        parallel.critical_path({"a": 1}, {"b": ["a"]})


# ---------------------------------------------------------------------------------------------
# Results and bad input


def test_results_report_times_and_find_tasks_by_name():
    results = parallel.run([Task(lambda: 1, "one"), Task(lambda: 2, "two")], **options())
    assert results["two"].value == 2
    with pytest.raises(KeyError, match="one, two"):
        results["three"]
    assert all(r.started <= r.finished <= results.finished for r in results)
    assert results.summary().n == 2
    assert "~" in results.table() and "2 ok, 0 failed" in str(results)
    assert "attempt" in repr(results[0])


def test_bad_input_gets_one_clear_message():
    async def coro():
        return 1

    with pytest.raises(ParallelError, match="not a coroutine"):
        Task(coro())
    with pytest.raises(ParallelError, match="function"):
        Task(42)
    with pytest.raises(ParallelError, match="list of step names"):
        Task(lambda: 1, after="a")
    for concurrency in (0, 2.5, True, "4"):
        with pytest.raises(ParallelError, match="concurrency"):
            parallel.run([lambda: 1], concurrency=concurrency)
    with pytest.raises(ParallelError, match="timeout"):
        parallel.run([lambda: 1], timeout=-1)
    with pytest.raises(ParallelError, match="max_attempts"):
        Retry(max_attempts=0)
    with pytest.raises(ParallelError, match="jitter"):
        Retry(jitter=2)
    with pytest.raises(ParallelError, match="attempt_timeout"):
        Retry(attempt_timeout=0)
    with pytest.raises(ParallelError, match="Retry"):
        parallel.run([lambda: 1], retry=3)
    with pytest.raises(ParallelError, match="RateLimiter"):
        parallel.run([lambda: 1], limiter={"rpm": 50})
    with pytest.raises(ParallelError, match="max_tokens"):
        parallel.message_task(labkit.client(), model=MODEL)
    assert issubclass(ParallelError, labkit.errors.LabkitError)


# ---------------------------------------------------------------------------------------------
# Lab 03's checks (labkit.checks.lab03)


def verdict(qid, answer, **context):
    return labkit.checks.evaluate(qid, answer, **context)


def test_lab03_design_check():
    good = {"a": "Research the observer effect.", "b": "Analogies for decoherence.", "c": "Sources on chaos theory."}
    assert verdict("03.q1", good).passed
    assert "three agents" in verdict("03.q1", dict(list(good.items())[:2])).message
    assert "dict" in verdict("03.q1", list(good.values())).message
    assert "topics" in verdict("03.q1", {**good, "c": "Find some sources."}).message
    same = {"a": "Research decoherence.", "b": "Analogies for decoherence.", "c": "Sources on decoherence."}
    assert "same topics" in verdict("03.q1", same).message
    assert "same prompt" in verdict("03.q1", {**good, "c": good["a"]}).message


def test_lab03_parallel_check():
    assert verdict("03.q2", [[0, 4], [0.1, 5], [0.2, 6]]).passed
    assert "concurrency" in verdict("03.q2", [[0, 4], [4, 8], [8, 12]]).message
    assert "three pairs" in verdict("03.q2", [[0, 4]]).message
    assert "order" in verdict("03.q2", [[4, 0], [0, 5], [0, 6]]).message


def test_lab03_time_saved_check():
    context = {"sequential": 14.0, "parallel": 6.0}
    result = verdict("03.q3", 1 - 6 / 14, **context)
    assert result.passed and "meets" in result.message
    assert verdict("03.q3", 0.57, **context).passed  # rounded to two decimals
    assert "percentage" in verdict("03.q3", 57.14, **context).message
    assert "speed-up" in verdict("03.q3", 14 / 6, **context).message
    assert "remains" in verdict("03.q3", 6 / 14, **context).message
    assert "question 2" in verdict("03.q3", 0.5, sequential=14.0, parallel=None).message
    assert "NOT meet" in verdict("03.q3", 0.1, sequential=10.0, parallel=9.0).message


def test_lab03_ideal_check():
    seconds = [4.0, 4.0, 6.0]
    assert verdict("03.q4", 1 - 6 / 14, seconds=seconds).passed
    assert "equally long" in verdict("03.q4", 2 / 3, seconds=seconds).message
    assert "slowest" in verdict("03.q4", 1 - 4 / 14, seconds=seconds).message
    assert "percentage" in verdict("03.q4", 57.14, seconds=seconds).message
