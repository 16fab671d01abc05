"""labkit: the Agent Performance Lab's shared package.

The few names every notebook uses are here; everything else lives in a module named for what it does.
Heavier parts load on first use (PEP 562), so that `import labkit` stays quick for command-line
entry points such as the Claude Code hook: `labkit.client` imports the SDK only when first called for.
"""

import importlib
from typing import Any

from . import config
from .checks import check
from .config import configure
from .results import record
from .timing import Timer

__version__ = "0.1.0"

_FROM_BACKEND = ("client", "async_client")
_SUBMODULES = ("backend", "cost", "models", "tokens", "timing", "results", "checks", "quality", "context",
               "memory", "parallel", "cache", "hooks")

__all__ = ["Timer", "async_client", "check", "client", "config", "configure", "record", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _FROM_BACKEND:
        return getattr(importlib.import_module(".backend", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")
