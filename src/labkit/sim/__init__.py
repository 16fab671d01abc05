"""The offline simulated Claude API: `SimAPI` answers requests; transports plug it into the SDK.

The names load on first use (PEP 562), so a module that only needs a helper such as
`labkit.sim.content` does not pull in the SDK.
"""

import importlib
from typing import Any

_EXPORTS = {"SimAPI": ".api", "SimTransport": ".transport", "AsyncSimTransport": ".transport"}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'labkit.sim' has no attribute {name!r}")
