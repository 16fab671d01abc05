"""The errors `labkit.context` raises on bad input: one short, actionable message each."""

from ..errors import LabkitError


class ContextError(LabkitError, ValueError):
    """A project folder, task file or option the context loader cannot use."""


class IgnoreRuleError(ContextError):
    """An ignore-rules line that cannot be used (raised only with `strict=True`; else a warning)."""


class BudgetError(ContextError):
    """A token budget too small for the file that must be loaded first."""
