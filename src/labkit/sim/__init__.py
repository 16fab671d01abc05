"""The offline simulated Claude API: `SimAPI` answers requests; transports plug it into the SDK."""

from .api import SimAPI
from .transport import AsyncSimTransport, SimTransport

__all__ = ["SimAPI", "SimTransport", "AsyncSimTransport"]
