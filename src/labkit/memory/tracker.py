"""How full the context window is: each request's tokens against a window, and the compaction trigger.

A request fills the window with its whole prompt: uncached input, cache writes and cache reads alike
(cached tokens are cheaper, not smaller). Before a request is sent its size is the offline estimate of
`labkit.tokens` (exact from the API in live mode); after it, `usage` says what it really was. The window
is the model's `context_window` from `data/models.yaml` unless a smaller *budget* is given: a lesson
that fills a 1,000,000-token window would need hours of simulated work, and the trigger fires on the
share of the window, not on its absolute size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .. import models, tokens
from ..errors import LabkitError

# The guide's trigger: "automated /compact trigger at 75% context usage" (Hands-On Activity 2).
DEFAULT_THRESHOLD = 0.75


class ContextError(LabkitError, ValueError):
    """A window, threshold or message that cannot work (for example a message larger than the window)."""


def usage_tokens(usage: Any) -> int:
    """Tokens a response's request put in the window: input plus cache writes plus cache reads."""
    u = usage if isinstance(usage, Mapping) else usage.model_dump()
    return sum(int(u.get(field) or 0) for field in
               ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))


@dataclasses.dataclass
class ContextTracker:
    """Context tokens per request against `window`; `should_compact` fires at `threshold` of it.

    >>> t = ContextTracker(window=1000)
    >>> t.should_compact(760), t.share(500)
    (True, 0.5)
    """

    window: int
    threshold: float = DEFAULT_THRESHOLD
    history: list[int] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window <= 0:
            raise ContextError(f"the window must be a positive whole number of tokens, got {self.window!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not 0 < self.threshold <= 1:
            raise ContextError(f"the compaction threshold is a share of the window in (0, 1], "
                               f"got {self.threshold!r} (0.75 means 75%)")

    @classmethod
    def for_model(cls, model: str | None = None, *, window: int | None = None,
                  threshold: float = DEFAULT_THRESHOLD) -> ContextTracker:
        """A tracker for `model`'s window, or for a smaller `window` budget inside it."""
        full = models.profile(model).context_window
        if window is not None and window > full:
            raise ContextError(f"a budget of {window:,} tokens is larger than the model's "
                               f"{full:,}-token window")
        return cls(window=full if window is None else window, threshold=threshold)

    @property
    def trigger_tokens(self) -> float:
        """The context size at which compaction fires."""
        return self.threshold * self.window

    def share(self, context_tokens: int) -> float:
        """The share of the window that `context_tokens` fill (above 1 when they overflow it)."""
        return context_tokens / self.window

    def should_compact(self, context_tokens: int) -> bool:
        return context_tokens >= self.trigger_tokens

    def observe(self, usage: Any) -> int:
        """Record a response's context size from its `usage`; returns it."""
        size = usage_tokens(usage)
        self.history.append(size)
        return size

    def check_request(self, params: Mapping[str, Any]) -> int:
        """The request's estimated size; a clear error if one of its parts alone exceeds the window,
        since no compaction can ever make such a request fit."""
        model = params.get("model")
        parts = [("the system prompt", params.get("system") or "")]
        parts += [(f"message {i + 1}", m.get("content", "")) for i, m in enumerate(params.get("messages") or ())]
        for name, content in parts:
            size = tokens.estimate(tokens.content_text(content), model) if content else 0
            if size > self.window:
                raise ContextError(
                    f"{name} alone is about {size:,} tokens, more than the whole {self.window:,}-token "
                    "window: no compaction can make it fit; split it or use a larger window")
        return tokens.count(params).value
