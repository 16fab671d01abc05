import asyncio
import time

import pytest

from labkit import config, timing


@pytest.fixture
def scale_tenth():
    config.configure(time_scale=0.1)
    yield
    config.configure()


def test_percentiles_interpolate_like_numpy():
    values = [1.0, 2.0, 3.0, 4.0]
    assert timing.percentile(values, 50) == 2.5
    assert timing.percentile(values, 95) == pytest.approx(3.85)
    with pytest.raises(ValueError):
        timing.percentile([], 50)


def test_timer_reports_api_equivalent_seconds(scale_tenth):
    timer = timing.Timer("sleep")
    with timer:
        time.sleep(0.02)
    # sleep() waits at least as long as asked: 0.02 wall s is at least 0.2 API s at scale 0.1
    assert 0.2 <= timer.last < 10
    assert timing.unit() == "API-equivalent s"


def test_timer_as_decorator_sync_and_async(scale_tenth):
    timer = timing.Timer()

    @timer
    def work():
        return 1

    @timer
    async def async_work():
        await asyncio.sleep(0)
        return 2

    assert work() == 1 and asyncio.run(async_work()) == 2
    summary = timer.summary()
    assert summary.n == 2 and summary.p50 <= summary.p95
    assert "~" in str(summary) and "API-equivalent" in str(summary)


def test_time_scale_zero_reports_wall_seconds():
    config.configure(time_scale=0)
    try:
        assert timing.unit() == "wall s"
    finally:
        config.configure()


def test_empty_timer_is_explicit():
    timer = timing.Timer("idle")
    assert str(timer.summary()) == "no samples"
    with pytest.raises(ValueError, match="no samples"):
        timer.last
