"""The cache's exceptions: bad configuration and misuse raise; damaged data never does (it is a miss)."""

from __future__ import annotations

from ..errors import ConfigError, LabkitError


class CacheError(LabkitError):
    """The cache was used in a way it cannot honour: a value or key it cannot store, an unknown namespace."""


class CacheConfigError(ConfigError):
    """The cache configuration (YAML or arguments) is malformed: the message names the key and the fix."""


class CacheConfigWarning(UserWarning):
    """A configuration key labkit does not implement (it is ignored): the message says why."""
