"""Run many calls at once: bounded concurrency, rate limits, retries, timeouts, progress, stages.

    from labkit import parallel

    client = labkit.async_client(max_retries=0)          # the runner retries, not the SDK (below)
    tasks = [parallel.message_task(client, name=topic, model=MODEL, max_tokens=600,
                                   messages=[{"role": "user", "content": f"Research {topic}."}])
             for topic in topics]
    results = parallel.run(tasks, concurrency=8)          # in a notebook cell or a script
    results.values()        # the messages, in input order (None for a task that failed)
    results.errors          # the tasks that failed, each with its exception, attempts and timing
    print(results.table())  # attempts, start, end and seconds per task (modelled offline)

A task is a function: async ones run on an event loop, sync ones in threads. Each gives one
`TaskResult` (value or error, attempts, seconds on the clock); an error never costs the other tasks
their results. `run_stages` runs dependent batches (stage 2 built from stage 1's results);
`run_graph` starts each step as soon as the steps it needs are done; `critical_path` gives the best
time any schedule could reach, and `timeline` draws when each task ran. Sync functions (`run`, `map`, `run_stages`, `run_graph`) work in
notebooks and scripts alike; in async code `await` their `a`-prefixed twins.

**Two layers of retries.** The `anthropic` SDK retries by itself (`max_retries=2` by default) on
the same errors, honouring `retry-after` too. Its retries are invisible here: a task that took three
HTTP attempts reports one attempt. With both layers on, attempts multiply (4 runner attempts x 3 SDK
attempts = up to 12 requests). So when you use this runner, give the client `max_retries=0`
(`labkit.async_client(max_retries=0)` or `client.with_options(max_retries=0)`) and let the runner
retry: every attempt is counted and timed, back-off is seeded, and `timeout=` and
`Retry.attempt_timeout` bound the whole. Keep the SDK's retries for single calls made outside it.

**Timeouts.** `timeout=` is a task's whole budget (all attempts, back-off and throttling): past it
the task fails with `TaskTimeoutError`. `Retry(attempt_timeout=...)` bounds one attempt and retries
it (`AttemptTimeoutError`). An async task is cancelled when it times out; a sync one cannot be (Python
cannot stop a thread): its thread is abandoned and its eventual result ignored.
"""

from .errors import ParallelError
from .graph import CriticalPath, critical_path
from .limits import RateLimiter
from .plot import timeline
from .results import AttemptTimeoutError, DependencyError, Results, TaskResult, TaskTimeoutError
from .retry import NO_RETRY, Retry, is_retryable, retry_after
from .runner import amap, arun, arun_graph, arun_stages, map, run, run_graph, run_stages
from .tasks import Task, message_task

__all__ = [
    "NO_RETRY", "AttemptTimeoutError", "CriticalPath", "DependencyError", "ParallelError",
    "RateLimiter", "Results", "Retry", "Task", "TaskResult", "TaskTimeoutError", "amap", "arun",
    "arun_graph", "arun_stages", "critical_path", "is_retryable", "map", "message_task", "retry_after",
    "run", "run_graph", "run_stages", "timeline",
]
