import asyncio
import time

import numpy as np
import pytest

from labkit import backend, config, timing
from labkit.clock import SimClock, WallClock


def test_percentiles_interpolate_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0]
    assert timing.percentile(values, 50) == 2.5
    assert timing.percentile(values, 95) == pytest.approx(3.85)
    rng = np.random.default_rng(0)
    sample = list(rng.exponential(size=37))
    for q in (0, 1, 50, 95, 99, 100):
        assert timing.percentile(sample, q) == pytest.approx(np.percentile(sample, q), rel=1e-12)
    assert timing.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        timing.percentile([], 50)
    with pytest.raises(ValueError, match="whole number"):
        timing.percentile(values, 95.5)


def test_a_timer_splits_modelled_from_local_time():
    clock = SimClock()
    timer = timing.Timer("call", clock=clock)
    with timer:
        clock.sleep(2.5)  # the service: modelled
        time.sleep(0.02)  # this machine: local, at its real duration
    reading = timer.readings[0]
    assert reading.modelled == 2.5
    assert 0.02 <= reading.local < 0.5
    assert timer.last == 2.5
    assert timer.samples == [2.5] and timer.local == [reading.local]


def test_a_summary_prints_modelled_figures_plainly_and_local_ones_marked():
    clock = SimClock()
    timer = timing.Timer(clock=clock)
    for seconds in (1.0, 2.0, 4.0):
        with timer:
            clock.sleep(seconds)
    text = str(timer.summary())
    assert "mean 2.33 s" in text and "p50 2.00 s" in text and "total 7.00 s" in text
    assert "modelled" in text and "~" in text  # local work, which varies, is marked


def test_timer_as_decorator_sync_and_async():
    clock = SimClock()
    timer = timing.Timer(clock=clock)

    @timer
    def work():
        clock.sleep(1)
        return 1

    @timer
    async def async_work():
        await clock.asleep(3)
        return 2

    assert work() == 1 and asyncio.run(async_work()) == 2
    summary = timer.summary()
    assert summary.n == 2 and (summary.p50, summary.total) == (2.0, 4.0)


def test_live_timers_read_wall_seconds():
    timer = timing.Timer(clock=WallClock())
    with timer:
        time.sleep(0.01)
    assert timer.readings[0].modelled == 0 and timer.last >= 0.01
    assert "wall s, live" in str(timer.summary())
    assert timing.unit(WallClock()) == "wall s, live"


def test_the_default_clock_is_the_configured_one():
    config.configure(backend="sim", time_scale=0)
    backend.reset_simulator()
    try:
        timer = timing.Timer()
        assert timer.clock is backend.clock() and timer.clock.simulated
        assert timing.unit(timer.clock) == "modelled s"
    finally:
        config.configure()
        backend.reset_simulator()


def test_empty_timer_is_explicit():
    timer = timing.Timer("idle", clock=SimClock())
    assert str(timer.summary()) == "no samples"
    with pytest.raises(ValueError, match="no samples"):
        timer.last
