"""Real `anthropic` clients wired to the configured backend: the offline simulator, or the live API.

Notebooks call `labkit.client()` instead of `anthropic.Anthropic()`; everything after that is the
ordinary SDK, so code written here runs unchanged against the real service.
"""

from __future__ import annotations

from typing import Any

import anthropic

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
    transport = SimTransport(simulator())
    return anthropic.Anthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                               http_client=anthropic.DefaultHttpxClient(transport=transport), **options)


def async_client(**options: Any) -> anthropic.AsyncAnthropic:
    """An `anthropic.AsyncAnthropic` for the configured backend; `options` go to its constructor."""
    cfg = config.current()
    if not cfg.simulated:
        return anthropic.AsyncAnthropic(api_key=cfg.api_key, **options)
    transport = AsyncSimTransport(simulator())
    return anthropic.AsyncAnthropic(api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                    http_client=anthropic.DefaultAsyncHttpxClient(transport=transport),
                                    **options)
