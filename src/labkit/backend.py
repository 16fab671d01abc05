"""Real `anthropic` clients wired to the configured backend: the offline simulator, or the live API.

Notebooks call `labkit.client()` instead of `anthropic.Anthropic()`; everything after that is the
ordinary SDK, so code written here runs unchanged against the real service.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import anthropic
import httpx2

from . import config
from .sim import AsyncSimTransport, SimAPI, SimTransport

# The simulator's address: a reserved `.invalid` name, so nothing could ever resolve it.
SIM_BASE_URL = "http://api.sim.labkit.invalid"
# Not a secret: the simulator accepts it, the real API would not.
SIM_API_KEY = "sk-labkit-simulated-offline"

_simulators: dict[tuple[int, str, float], SimAPI] = {}


def simulator() -> SimAPI:
    """The process-wide simulated service for the configured seed (shared by every client)."""
    cfg = config.current()
    key = (cfg.seed, str(cfg.data_dir), cfg.time_scale)
    if key not in _simulators:
        _simulators[key] = SimAPI(seed=cfg.seed, data_dir=cfg.data_dir, time_scale=cfg.time_scale)
    return _simulators[key]


def reset_simulator() -> None:
    """Forget the simulated service's state (caches, batches, limits): a fresh service."""
    _simulators.clear()


def client(**options: Any) -> anthropic.Anthropic:
    """An `anthropic.Anthropic` for the configured backend; `options` go to its constructor."""
    cfg = config.current()
    if not cfg.simulated:
        return anthropic.Anthropic(api_key=cfg.api_key, **options)
    _warm_up_sdk("sync")
    transport = SimTransport(simulator())
    return anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                               http_client=anthropic.DefaultHttpxClient(transport=transport), **options)


def async_client(**options: Any) -> anthropic.AsyncAnthropic:
    """An `anthropic.AsyncAnthropic` for the configured backend; `options` go to its constructor."""
    cfg = config.current()
    if not cfg.simulated:
        return anthropic.AsyncAnthropic(api_key=cfg.api_key, **options)
    _warm_up_sdk("async")
    transport = AsyncSimTransport(simulator())
    return anthropic.AsyncAnthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                    http_client=anthropic.DefaultAsyncHttpxClient(transport=transport),
                                    **options)


_CANNED = {"id": "msg_warmup", "type": "message", "role": "assistant", "model": "claude-haiku-5-5",
           "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 1, "output_tokens": 1}}
_WARM_UP = {"model": "claude-haiku-5-5", "max_tokens": 1, "messages": [{"role": "user", "content": "ok"}]}


@functools.cache
def _warm_up_sdk(kind: str) -> None:
    """Pay the SDK's one-off first-call cost (about 20 ms) before anything is timed.

    Timers divide wall time by the time scale, so at 0.01 that cost would read as 2 API-equivalent
    seconds on a lesson's first call. The warm-up answers from a canned reply, so the simulator's
    state (ids, caches, rate limits) is untouched.
    """
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json=_CANNED))
    if kind == "sync":
        warm = anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                   http_client=anthropic.DefaultHttpxClient(transport=transport))
        warm.messages.create(**_WARM_UP)
        return

    async def call() -> None:
        async with anthropic.AsyncAnthropic(
                api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                http_client=anthropic.DefaultAsyncHttpxClient(transport=transport)) as warm:
            await warm.messages.create(**_WARM_UP)

    # A thread of its own, because a notebook's event loop is already running in this one.
    thread = threading.Thread(target=asyncio.run, args=(call(),))
    thread.start()
    thread.join()
