"""labkit: the Agent Performance Lab's shared package.

The few names every notebook uses are here; everything else lives in a module named for what it does.
"""

from . import config, cost, models, tokens
from .checks import check
from .backend import async_client, client
from .config import configure
from .results import record
from .timing import Timer

__version__ = "0.1.0"

__all__ = ["Timer", "async_client", "check", "client", "config", "configure", "cost", "models",
           "record", "tokens"]
