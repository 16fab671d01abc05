"""What labkit.parallel costs per task, against a bare `asyncio.gather` with a semaphore.

Not a test: run it by hand when the runner changes.

    .venv/bin/python benchmarks/parallel_overhead.py [--tasks 10000] [--sync-tasks 2000] [--concurrency 100] [--rounds 5]

Both sides run the same trivial coroutines (`async def f(): return 1`), so everything measured is
scheduling and bookkeeping: the baseline is the usual idiom, one asyncio task per input behind an
`asyncio.Semaphore(concurrency)`; labkit's rows add what the runner does per task (a result object
with timings, the retry loop, in-order results) with the progress bar off. The target (issue #5) is
`arun` at most about 3x the baseline. Further rows show what the options cost: the sync entry point
(`run`, which hands the work to labkit's event loop thread), timeouts (`asyncio.timeout` per task and
per attempt) and a client-side rate limiter whose limits never bind, plus a yielding workload
(`await asyncio.sleep(0)`), where every task really suspends. Sync functions are compared with
`ThreadPoolExecutor.map`: labkit starts one daemon thread per call so that a call that hangs past its
timeout can be abandoned without holding a pool slot.

Every row is measured in each round, rows interleaved, so a shared machine's drift affects all of
them alike; ratios are taken within a round (labkit time / baseline time of the same round) and the
median over rounds is reported, with the ratio of the two fastest rounds beside it (the baseline's
10,000 asyncio tasks also make it the more sensitive of the two to garbage collection, so its rounds
vary more), and the best and median µs per task, as `benchmarks/sim_throughput.py` shows best and
median rates.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import labkit
from labkit import parallel

TARGET_RATIO = 3.0
NEVER_BINDS = parallel.RateLimiter(requests_per_minute=1e12, input_tokens_per_minute=1e15,
                                   output_tokens_per_minute=1e15)


async def trivial() -> int:
    return 1


async def yielding() -> int:
    await asyncio.sleep(0)
    return 1


def blocking() -> int:
    return 1


async def gather_with_semaphore(fn: Callable[[], Awaitable[int]], n: int, concurrency: int) -> list[int]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> int:
        async with semaphore:
            return await fn()

    return await asyncio.gather(*(one() for _ in range(n)))


def timed_async(make: Callable[[], Awaitable[object]]) -> float:
    """Seconds for one run of `make()` inside a fresh event loop (the loop's start-up excluded)."""
    async def measure() -> float:
        start = time.perf_counter()
        await make()
        return time.perf_counter() - start
    return asyncio.run(measure())


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def rows(n: int, n_sync: int, c: int) -> list[tuple[str, str, int, Callable[[], float]]]:
    """(name, baseline name, tasks, measure) — measure returns seconds for one run."""
    quiet = {"concurrency": c, "progress": False}
    timeouts = {**quiet, "timeout": 3600.0, "retry": parallel.Retry(attempt_timeout=600.0)}
    return [
        ("gather + semaphore", "", n, lambda: timed_async(lambda: gather_with_semaphore(trivial, n, c))),
        ("parallel.arun", "gather + semaphore", n, lambda: timed_async(lambda: parallel.arun([trivial] * n, **quiet))),
        ("parallel.run (sync entry)", "gather + semaphore", n, lambda: timed(lambda: parallel.run([trivial] * n, **quiet))),
        ("arun + timeouts", "gather + semaphore", n, lambda: timed_async(lambda: parallel.arun([trivial] * n, **timeouts))),
        ("arun + rate limiter", "gather + semaphore", n,
         lambda: timed_async(lambda: parallel.arun([trivial] * n, limiter=NEVER_BINDS, **quiet))),
        ("gather + semaphore, yielding", "", n, lambda: timed_async(lambda: gather_with_semaphore(yielding, n, c))),
        ("parallel.arun, yielding", "gather + semaphore, yielding", n,
         lambda: timed_async(lambda: parallel.arun([yielding] * n, **quiet))),
        ("ThreadPoolExecutor.map", "", n_sync, lambda: timed(lambda: _pool_map(n_sync, c))),
        ("parallel.run, sync functions", "ThreadPoolExecutor.map", n_sync,
         lambda: timed(lambda: parallel.run([blocking] * n_sync, **quiet))),
    ]


def _pool_map(n: int, concurrency: int) -> list[int]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda _: blocking(), range(n)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="coroutines per run")
    parser.add_argument("--sync-tasks", type=int, default=2_000, help="sync functions per run (threads)")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    labkit.configure(backend="sim", time_scale=0)
    table = rows(args.tasks, args.sync_tasks, args.concurrency)
    for _, _, _, measure in table:  # warm-up: imports, the background loop, first-use caches
        measure()
    seconds: dict[str, list[float]] = {name: [] for name, _, _, _ in table}
    for _ in range(args.rounds):
        for name, _, _, measure in table:
            seconds[name].append(measure())

    print(f"{'path':<32}{'tasks':>8}{'best µs/task':>14}{'median µs/task':>16}{'x baseline':>12}{'best/best':>11}")
    ratios: dict[str, float] = {}
    for name, baseline, n, _ in table:
        per_task = [s / n * 1e6 for s in seconds[name]]
        ratio = best = ""
        if baseline:
            ratios[name] = statistics.median(a / b for a, b in zip(seconds[name], seconds[baseline]))
            ratio = f"{ratios[name]:.2f}x"
            best = f"{min(seconds[name]) / min(seconds[baseline]):.2f}x"
        print(f"{name:<32}{n:>8,}{min(per_task):>14.2f}{statistics.median(per_task):>16.2f}{ratio:>12}{best:>11}")
    verdict = "meets" if ratios["parallel.arun"] <= TARGET_RATIO else "MISSES"
    print(f"\nparallel.arun costs {ratios['parallel.arun']:.2f}x a bare asyncio.gather with a semaphore per "
          f"task and {verdict} the < {TARGET_RATIO:g}x target ({args.tasks:,} trivial coroutines, concurrency "
          f"{args.concurrency}, progress bar off, median of {args.rounds} rounds' ratios; 'best/best' compares "
          "the fastest rounds).")


if __name__ == "__main__":
    main()
