"""The grader's own simulator: what hidden checks and trusted contexts compare student answers with.

Grading runs every notebook on the offline simulator with a fixed seed, and the simulator answers
identical requests identically (content, usage, modelled latency). So the grader can recompute what
a student's call returned, in its own process, instead of believing the numbers the student's
kernel exported. Each call here uses a fresh private simulator on an unpaced clock of its own, so it
costs no real time, and the modelled latency it reports is the one the student's timer read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..sim import SimAPI
from ..sim.wire import SimRequest, SimResponse


class _Recording(SimAPI):
    """A simulator that remembers its last response, so its modelled latency can be read."""

    last: SimResponse | None = None

    def handle(self, request: SimRequest) -> SimResponse:
        self.last = super().handle(request)
        return self.last


@dataclasses.dataclass(frozen=True)
class Modelled:
    message: Any       # the SDK's Message
    latency: float     # modelled seconds: exactly what a student's Timer reports for the call offline


def simulator(seed: int, data_dir: Path) -> _Recording:
    """A fresh simulator with the grading seed, on an unpaced clock of its own."""
    return _Recording(seed=seed, data_dir=data_dir)


def client(api: SimAPI) -> Any:
    """The real SDK on the private simulator `api`, without retries."""
    from .. import backend

    return backend.client(api=api, max_retries=0)


def modelled(request: Mapping[str, Any], api: _Recording) -> Modelled:
    """Send one Messages request (the keyword arguments of `messages.create`) to `api`."""
    message = client(api).messages.create(**request)
    assert api.last is not None
    return Modelled(message, api.last.latency)
