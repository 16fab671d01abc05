"""Faults on demand (overloaded, server errors, timeouts) so lessons can show retries.

Placeholder until faults are modelled: no request fails.
"""

from __future__ import annotations

from .wire import SimRequest


class Faults:
    def before(self, request: SimRequest, now: float) -> None:
        """Raise an APIError if this request is scheduled (or drawn) to fail."""
