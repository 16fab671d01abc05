"""Fixtures shared by the unit tests: an offline simulator and SDK clients wired to it."""

from __future__ import annotations

import anthropic
import pytest

import labkit
from labkit import backend
from labkit.config import find_root
from labkit.sim import SimAPI


@pytest.fixture
def offline():
    """A fresh process-wide simulator at time scale 0 (no waits), restored after the test."""
    labkit.configure(backend="sim", seed=0, time_scale=0)
    backend.reset_simulator()
    yield
    labkit.configure()


@pytest.fixture
def client(offline) -> anthropic.Anthropic:
    """The real SDK on the process-wide simulator, without SDK retries (tests see every error)."""
    return labkit.client(max_retries=0)


@pytest.fixture
def api() -> SimAPI:
    """A private simulator on a clock of its own, for tests that drive its clock, limits or faults."""
    return SimAPI(seed=0, data_dir=find_root() / "data")


@pytest.fixture
def api_client(api: SimAPI) -> anthropic.Anthropic:
    """The real SDK on the private simulator `api`, without SDK retries."""
    return backend.client(api=api, max_retries=0)
