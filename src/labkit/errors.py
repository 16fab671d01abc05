"""The exceptions labkit raises on bad input: each carries one short, actionable message."""


class LabkitError(Exception):
    """Base class: the CLI prints these as one line instead of a traceback."""


class ConfigError(LabkitError, ValueError):
    """A setting is unknown, malformed or incomplete (for example live mode without a key)."""


class DataError(LabkitError, ValueError):
    """A data file that labkit ships or reads is missing or malformed."""


class UsageError(LabkitError, ValueError):
    """A public function was given an argument it cannot use (a typo'd key, a wrong type, a negative
    count): raised instead of answering silently wrong."""
