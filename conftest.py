"""Repository-wide pytest set-up for the notebook tests (nbval).

The README's test command is

    pytest -n 2 --dist loadscope --nbval --nbval-current-env \
        --nbval-sanitize-with tests/sanitize.cfg tests notebooks solutions

These hooks run in every process, including each pytest-xdist worker (workers load conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.config import ENV_API_KEY, ENV_BACKEND

# Outputs that nbval must not compare, on top of its own defaults (metadata, execution counts, ...):
SKIP_COMPARE = (
    "application/vnd.labkit.record+json",  # carries raw volatile values; its text/plain line is compared
    "application/vnd.labkit.check+json",   # likewise: the "✔ 00.q1 passed" line is compared
    "text/html",                           # pandas' HTML whitespace changes between versions
    "application/vnd.jupyter.widget-view+json",  # random widget model ids (nbval skips it too)
    "stderr",                              # warnings and progress bars
)

_environment = pytest.MonkeyPatch()


def pytest_configure(config: pytest.Config) -> None:
    """Force the offline simulator for everything the suite starts, notebook kernels included.

    Kernels inherit this process's environment, so a developer's live key or `LABKIT_BACKEND=live`
    must not reach them: recorded outputs come from the simulator and the suite never spends money.
    Undone in `pytest_unconfigure`, so nothing leaks out of the session (tests that need other
    settings pass them explicitly or use `monkeypatch`).
    """
    _environment.setenv(ENV_BACKEND, "sim")
    _environment.delenv(ENV_API_KEY, raising=False)


def pytest_unconfigure(config: pytest.Config) -> None:
    _environment.undo()


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Widen nbval's `skip_compare` on each notebook it collects (nbval's documented hook)."""
    path = getattr(collector, "path", None)
    if path is not None and path.suffix == ".ipynb" and hasattr(collector, "skip_compare"):
        collector.skip_compare = tuple(collector.skip_compare) + tuple(
            key for key in SKIP_COMPARE if key not in collector.skip_compare)


_TESTS = Path(__file__).resolve().parent / "tests"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Notebooks under tests/ are inputs to tests (some fail or run slowly on purpose), not course
    material: nbval validates them only when named on the command line (pytest never ignores those)."""
    if collection_path.suffix == ".ipynb" and _TESTS in collection_path.parents:
        return True
    return None
