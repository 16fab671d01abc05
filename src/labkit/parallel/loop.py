"""Run the async core from ordinary (sync) code, in scripts and in notebooks alike.

A notebook's kernel already runs an event loop in the main thread, so `asyncio.run()` cannot be
called there. Sync entry points therefore hand their coroutine to labkit's own event loop, which runs
forever in one daemon thread, and wait for it. One long-lived loop (not one per call) also lets an
async client be reused across runs: connection pools belong to the loop that opened them.
Output printed by tasks and the progress bar still appear under the notebook cell that is running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import ParallelError

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """labkit's event loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, daemon=True, name="labkit-parallel")
            _thread.start()
        return _loop


def wait_for(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on labkit's loop and block until it is done; Ctrl-C cancels it."""
    loop = background_loop()
    if threading.current_thread() is _thread:
        coroutine.close()
        raise ParallelError("this is labkit's event loop: inside an async task use "
                            "`await labkit.parallel.arun(...)` rather than the blocking run()")
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()  # KeyboardInterrupt while waiting: stop the tasks too
        raise
