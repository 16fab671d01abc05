"""The in-memory layer: a bounded LRU of decoded values with a per-entry expiry time.

This is the hot path (a hit costs a dict lookup, one clock read and a move to the recent end), so it
is kept small: an `OrderedDict` in C, one lock so that threads see consistent entries and counters
(dropping it would make a hit about 1.7x faster and the counters unreliable under threads), and
expiry checked on read rather than by a background sweeper.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from .stats import LayerStats

NEVER = float("inf")
MISSING: Any = object()  # returned on a miss, so that None can be a cached value


class MemoryLayer:
    """At most `max_items` entries; the least recently used one is evicted first."""

    def __init__(self, max_items: int, clock: Callable[[], float]) -> None:
        if max_items < 1:
            raise ValueError("a memory layer holds at least one entry (use none at all instead)")
        self.max_items = max_items
        self.stats = LayerStats()
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.get = self.reader()

    def reader(self, on_miss: Callable[[Hashable, Any], Any] | None = None,
               missing: Any = MISSING) -> Callable[..., Any]:
        """A `get(key, default=missing)` function: the live value, else `on_miss(key, default)`
        (or `default`). A hit makes the entry the most recently used.

        The hit path is a closure over local names rather than a method: it is the cache's hottest
        code, and this saves the attribute lookups and the extra call a method on top would cost.
        """
        data, clock, stats = self._data, self._clock, self.stats
        lookup, move = data.get, data.move_to_end
        acquire, release = self._lock.acquire, self._lock.release  # `with lock:` costs ~1.5x more

        def get(key: Hashable, default: Any = missing) -> Any:
            acquire()
            try:
                entry = lookup(key)
                if entry is not None:
                    if entry[1] > clock():
                        move(key)
                        stats.hits += 1
                        return entry[0]
                    del data[key]
                    stats.expirations += 1
                stats.misses += 1
            finally:
                release()
            return default if on_miss is None else on_miss(key, default)

        return get

    def put(self, key: Hashable, value: Any, expires: float = NEVER) -> None:
        """Store `value` until the clock reaches `expires`, evicting least recently used entries."""
        with self._lock:
            self._data[key] = (value, expires)
            self._data.move_to_end(key)
            self.stats.sets += 1
            while len(self._data) > self.max_items:
                self._data.popitem(last=False)
                self.stats.evictions += 1

    def delete(self, key: Hashable) -> bool:
        with self._lock:
            return self._data.pop(key, None) is not None

    def purge_expired(self) -> int:
        """Drop every expired entry now (reads drop them lazily anyway); returns how many."""
        with self._lock:
            now = self._clock()
            dead = [k for k, (_, expires) in self._data.items() if expires <= now]
            for k in dead:
                del self._data[k]
            self.stats.expirations += len(dead)
            return len(dead)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used (for tests and lessons)."""
        with self._lock:
            return list(self._data)

    def __len__(self) -> int:
        return len(self._data)
