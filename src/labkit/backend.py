"""Real `anthropic` clients wired to the configured backend: the offline simulator, or the live API.

Notebooks call `labkit.client()` instead of `anthropic.Anthropic()`; everything after that is the
ordinary SDK, so code written here runs unchanged against the real service. This module is the
façade's one link between the configuration and what it selects: the clients, the simulated
service and the clock that timers, runners, limiters and caches read.

Offline the clients are the SDK's own classes with one change: the sleep between the SDK's own
retries is a simulated wait on the clock, as every other wait offline is, so `retry-after` is the
real API's figure and honouring it costs no real time.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from . import config
from .clock import Clock, SimClock, WallClock

if TYPE_CHECKING:
    import anthropic

    from .sim import SimAPI

__all__ = ["SIM_API_KEY", "SIM_BASE_URL", "async_client", "client", "clock", "reset_simulator", "simulator"]

# The simulator's address: a reserved `.invalid` name, so nothing could ever resolve it.
SIM_BASE_URL = "http://api.sim.labkit.invalid"
# Not a secret: the simulator accepts it, the real API would not.
SIM_API_KEY = "sk-labkit-simulated-offline"

_simulators: dict[tuple[int, str], SimAPI] = {}
_sim_clock: SimClock | None = None
_wall_clock = WallClock()


def clock() -> Clock:
    """The configured backend's clock: one simulated clock for the process offline (its pace is the
    configured time scale), wall time live."""
    global _sim_clock
    cfg = config.current()
    if not cfg.simulated:
        return _wall_clock
    if _sim_clock is None:
        _sim_clock = SimClock(cfg.time_scale)
    _sim_clock.pace = cfg.time_scale
    return _sim_clock


def simulator() -> SimAPI:
    """The process-wide simulated service for the configured seed (shared by every client)."""
    from .sim import SimAPI

    cfg = config.current()
    key = (cfg.seed, str(cfg.data_dir))
    if key not in _simulators:
        _simulators[key] = SimAPI(seed=cfg.seed, data_dir=cfg.data_dir, clock=clock())
    return _simulators[key]


def reset_simulator() -> None:
    """Forget the simulated service's state (caches, batches, limits): a fresh service on a fresh clock."""
    global _sim_clock
    _simulators.clear()
    _sim_clock = None


def client(*, api: SimAPI | None = None, **options: Any) -> anthropic.Anthropic:
    """An `anthropic.Anthropic` for the configured backend, or on `api` (a `SimAPI` of your own)
    when given; `options` go to its constructor."""
    import anthropic

    from .sim import SimTransport

    cfg = config.current()
    if api is None and not cfg.simulated:
        return anthropic.Anthropic(api_key=cfg.api_key, **options)
    transport = SimTransport(api if api is not None else simulator())
    return _simulated_classes()[0](api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                   http_client=anthropic.DefaultHttpxClient(transport=transport), **options)


def async_client(*, api: SimAPI | None = None, **options: Any) -> anthropic.AsyncAnthropic:
    """An `anthropic.AsyncAnthropic` for the configured backend, or on `api` (a `SimAPI` of your
    own) when given; `options` go to its constructor."""
    import anthropic

    from .sim import AsyncSimTransport

    cfg = config.current()
    if api is None and not cfg.simulated:
        return anthropic.AsyncAnthropic(api_key=cfg.api_key, **options)
    transport = AsyncSimTransport(api if api is not None else simulator())
    return _simulated_classes()[1](api_key=SIM_API_KEY, base_url=SIM_BASE_URL,
                                   http_client=anthropic.DefaultAsyncHttpxClient(transport=transport),
                                   **options)


def _simulator_of(sdk_client: Any) -> SimAPI:
    """The simulated service behind a client made here (copies made by `with_options` share it)."""
    return sdk_client._client._transport.api  # type: ignore[no-any-return]


@functools.cache
def _simulated_classes() -> tuple[type[anthropic.Anthropic], type[anthropic.AsyncAnthropic]]:
    """The SDK's clients, with the sleep between retries made a simulated wait.

    The override repeats the two lines of the SDK's `_sleep_for_retry` that matter, with the
    clock's sleep in place of `time.sleep` / `anyio.sleep`; `tests/test_client.py` checks that the
    SDK still computes the wait the same way (`_calculate_retry_timeout`)."""
    import anthropic

    class Anthropic(anthropic.Anthropic):
        """`anthropic.Anthropic` on the simulator: its retries wait on the simulated clock."""

        def _sleep_for_retry(self, *, retries_taken: int, max_retries: int, options: Any,
                             response: Any) -> None:
            seconds = self._calculate_retry_timeout(max_retries - retries_taken, options,
                                                    response.headers if response else None)
            _simulator_of(self).clock.sleep(seconds)

    class AsyncAnthropic(anthropic.AsyncAnthropic):
        """`anthropic.AsyncAnthropic` on the simulator: its retries wait on the simulated clock."""

        async def _sleep_for_retry(self, *, retries_taken: int, max_retries: int, options: Any,
                                   response: Any) -> None:
            seconds = self._calculate_retry_timeout(max_retries - retries_taken, options,
                                                    response.headers if response else None)
            await _simulator_of(self).clock.asleep(seconds)

    return Anthropic, AsyncAnthropic
