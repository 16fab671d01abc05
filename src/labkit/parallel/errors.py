"""Bad input to `labkit.parallel` (a coroutine instead of a function, a cycle in a graph, ...)."""

from ..errors import LabkitError


class ParallelError(LabkitError, ValueError):
    """A task list, graph, policy or limit that cannot work: the message says how to fix it."""
