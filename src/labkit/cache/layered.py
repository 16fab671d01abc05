"""The multi-layer cache: per namespace, an in-memory LRU in front of the shared SQLite store.

A read tries memory, then disk; a disk hit is copied into memory (with the entry's own expiry, so
both layers forget it at the same moment). A write goes to both. Each namespace has its own
lifetime, bounds and compression (`config.NamespaceConfig`), and its own counters per layer. The
memory layer belongs to one process: a value another process overwrites on disk is seen here once
this process's copy expires or is evicted (for answers to identical requests, copies agree).

Expired entries are dropped lazily when read, and by `cleanup()`, which also runs by itself every
`cleanup_interval` seconds of the cache's clock (checked on writes): the guide's weekly `find -mtime
+7 -delete` cron line, but per namespace lifetime and inside the store's transactions.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..clock import Clock
from . import codec, keys
from .config import CacheConfig, NamespaceConfig, load_config, parse_config
from .disk import DiskStore
from .errors import CacheError
from .memory import MISSING, NEVER, MemoryLayer
from .stats import LayerStats

F = TypeVar("F", bound=Callable[..., Any])
KEY_MEMO_SIZE = 4096  # argument tuples whose stable key a memoized function remembers


class Namespace:
    """One namespace of a `Cache`: `get`, `set`, `delete`, `get_or_set`, and its statistics."""

    def __init__(self, config: NamespaceConfig, disk: DiskStore | None, clock: Callable[[], float],
                 on_write: Callable[[], None]) -> None:
        if not config.memory_items and disk is None:
            raise CacheError(f"namespace {config.name!r} would have no layer at all: give the cache a "
                             "path for its disk layer, or memory_items above 0")
        self.name = config.name
        self.config = config
        self.memory = MemoryLayer(config.memory_items, clock) if config.memory_items else None
        self.disk = disk
        self._clock = clock
        self._on_write = on_write
        if self.memory is not None:
            self.get = self.memory.reader(self._from_disk, None)  # type: ignore[method-assign]

    def get(self, key: str, default: Any = None) -> Any:
        """The cached value for `key` (a string, e.g. from `labkit.cache.key(...)`), or `default`.

        (Replaced per instance by the memory layer's fast reader when there is one; see __init__.)
        """
        return self._from_disk(key, default)

    def _from_disk(self, key: str, default: Any) -> Any:
        _check_key(key)
        if self.disk is not None:
            found = self.disk.get(self.name, key)
            if found is not None:
                value, expires = found
                if self.memory is not None:
                    self.memory.put(key, value, NEVER if expires is None else expires)
                return value
        return default

    def lookup(self, key: str) -> tuple[Any, str | None]:
        """(value, layer that answered: "memory" or "disk"), or (MISSING, None) on a miss."""
        _check_key(key)
        if self.memory is not None:
            value = self.memory.get(key)
            if value is not MISSING:
                return value, "memory"
        value = self._from_disk(key, MISSING)
        return (MISSING, None) if value is MISSING else (value, "disk")

    def set(self, key: str, value: Any) -> Any:
        """Store `value` (text, bytes or JSON data) under `key` in every layer.

        Returns the value as the cache will hand it back (a tuple comes back as a list), so a
        caller can return the same thing on a miss as on a later hit.
        """
        _check_key(key)
        blob, flags = codec.encode(value, self.config.compress)
        stored = codec.normalized(value, blob, flags)
        ttl = self.config.ttl
        expires = None if ttl is None else self._clock() + ttl
        if self.disk is not None:
            self.disk.set(self.name, key, blob, flags, expires, self.config.max_size)
        if self.memory is not None:
            self.memory.put(key, stored, NEVER if expires is None else expires)
        self._on_write()
        return stored

    def get_or_set(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cached value, or `compute()`'s result, stored first. Errors from `compute` are not cached."""
        value = self.get(key, MISSING)
        if value is MISSING:
            value = self.set(key, compute())
        return value

    def delete(self, key: str) -> None:
        if self.memory is not None:
            self.memory.delete(key)
        if self.disk is not None:
            self.disk.delete(self.name, key)

    def clear(self) -> None:
        """Forget every entry of this namespace, in both layers."""
        if self.memory is not None:
            self.memory.clear()
        if self.disk is not None:
            self.disk.clear(self.name)

    def stats(self) -> dict[str, LayerStats]:
        """Counters by layer: "memory" and/or "disk"."""
        out = {}
        if self.memory is not None:
            out["memory"] = self.memory.stats
        if self.disk is not None:
            out["disk"] = self.disk.stats(self.name)
        return out

    @property
    def lookups(self) -> int:
        """Requests made to this namespace (each reaches the first layer once)."""
        return next(iter(self.stats().values())).lookups

    @property
    def hits(self) -> int:
        """Requests answered by any layer."""
        return sum(layer.hits for layer in self.stats().values())

    @property
    def hit_rate(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0

    def reset_stats(self) -> None:
        for layer in self.stats().values():
            layer.reset()

    def __repr__(self) -> str:
        layers = " + ".join(self.stats())
        return f"Namespace({self.name!r}, {layers}, ttl={self.config.ttl}, hit_rate={self.hit_rate:.3f})"


class Cache:
    """Namespaces over one optional disk store: `Cache(path, config)`, then `cache["api_responses"]`.

    `path` None keeps everything in memory. `config` is a `CacheConfig`, a YAML file path, YAML text
    or a mapping; without one, namespaces are created on first use with the defaults. `clock` tells
    the time that lifetimes count on: a `labkit.clock.Clock` (default: the configured one, so
    offline a simulated day passes in a simulated day) or any callable returning seconds since the
    epoch, such as a `ManualClock` that lets time pass by hand. `timeout` is the disk layer's busy
    timeout.
    """

    def __init__(self, path: str | Path | None = None,
                 config: CacheConfig | str | Path | Mapping[str, Any] | None = None, *,
                 clock: Clock | Callable[[], float] | None = None, timeout: float = 1.0) -> None:
        self.config = _as_config(config)
        if clock is None:
            from .. import backend  # the façade's configured clock

            clock = backend.clock()
        if isinstance(clock, Clock):
            clock = clock.timestamp
        self.clock = clock
        self.disk = DiskStore(path, clock=clock, timeout=timeout) if path is not None else None
        self._namespaces: dict[str, Namespace] = {}
        interval = self.config.cleanup_interval if self.config else None
        self._cleanup_interval = interval
        self._next_cleanup = clock() + interval if interval else None
        if self.config:
            for name in self.config.namespaces:
                self.namespace(name)

    def namespace(self, name: str) -> Namespace:
        """The namespace called `name` (declared in the configuration, if there is one)."""
        found = self._namespaces.get(name)
        if found is not None:
            return found
        if self.config is not None:
            if name not in self.config.namespaces:
                raise CacheError(f"unknown cache namespace {name!r}: the configuration declares "
                                 f"{', '.join(self.config.namespaces)}")
            settings = self.config.namespaces[name]
        else:
            settings = NamespaceConfig(name=name)
        found = self._namespaces[name] = Namespace(settings, self.disk, self.clock, self._after_write)
        return found

    __getitem__ = namespace

    @property
    def namespaces(self) -> dict[str, Namespace]:
        return dict(self._namespaces)

    def memoize(self, namespace: str, *, key: Callable[..., Any] | None = None,
                version: str | int | None = None) -> Callable[[F], F]:
        """Decorator: cache a function's results in `namespace`, keyed by its arguments.

        The key is a hash of the function's qualified name, `version` and the canonical JSON of
        its arguments, so it is the same in every process. Arguments JSON cannot represent need
        `key=`: a function of the same arguments returning what identifies the call (e.g. a
        normalised topic). Bump `version` when the function's output changes. Works on `async def`
        functions too. Exceptions are never cached.
        """
        ns = self.namespace(namespace)

        def decorate(fn: F) -> F:
            name = f"{fn.__module__}.{fn.__qualname__}"
            memo: dict[tuple, str] = {}

            def stable_key(args: tuple, kwargs: dict) -> str:
                ident = key(*args, **kwargs) if key is not None else [list(args), kwargs]
                try:
                    return keys.key([name, version, ident])
                except CacheError as exc:
                    raise CacheError(f"{name}: {exc} (or pass key=... to memoize)") from None

            def make_key(args: tuple, kwargs: dict) -> str:
                """The stable key, remembered per hashable argument tuple: hashing canonical JSON
                costs several times a whole memory hit. Argument types are part of the tuple, so
                f(1) and f(1.0), equal in Python but not in JSON, keep their own keys."""
                fast = (args, tuple(map(type, args)), tuple(kwargs.items()),
                        tuple(map(type, kwargs.values()))) if kwargs else (args, tuple(map(type, args)))
                try:
                    return memo[fast]
                except KeyError:
                    pass
                except TypeError:  # an unhashable argument (a list, a dict): no shortcut
                    return stable_key(args, kwargs)
                if len(memo) >= KEY_MEMO_SIZE:
                    memo.clear()
                found = memo[fast] = stable_key(args, kwargs)
                return found

            if inspect.iscoroutinefunction(fn):
                @functools.wraps(fn)
                async def cached_async(*args: Any, **kwargs: Any) -> Any:
                    k = make_key(args, kwargs)
                    value = ns.get(k, MISSING)
                    if value is MISSING:
                        value = ns.set(k, await fn(*args, **kwargs))
                    return value
                cached_async.cache = ns  # type: ignore[attr-defined]
                return cached_async  # type: ignore[return-value]

            @functools.wraps(fn)
            def cached(*args: Any, **kwargs: Any) -> Any:
                k = make_key(args, kwargs)
                value = ns.get(k, MISSING)
                if value is MISSING:
                    value = ns.set(k, fn(*args, **kwargs))
                return value
            cached.cache = ns  # type: ignore[attr-defined]
            return cached  # type: ignore[return-value]

        return decorate

    def cleanup(self) -> dict[str, int]:
        """Remove every expired entry from both layers now; returns the count removed per namespace."""
        removed = dict.fromkeys(self._namespaces, 0)
        for name, ns in self._namespaces.items():
            if ns.memory is not None:
                ns.memory.purge_expired()
        if self.disk is not None:
            for name, count in self.disk.cleanup().items():
                removed[name] = removed.get(name, 0) + count
        if self._cleanup_interval:
            self._next_cleanup = self.clock() + self._cleanup_interval
        return removed

    def stats(self) -> list[dict[str, Any]]:
        """One row per namespace and layer, plus an "all layers" row per namespace (plain data)."""
        rows = []
        for name, ns in self._namespaces.items():
            for layer, counters in ns.stats().items():
                rows.append({"namespace": name, "layer": layer, **counters.as_dict()})
            rows.append({"namespace": name, "layer": "all layers", "hits": ns.hits,
                         "misses": ns.lookups - ns.hits, "hit_rate": ns.hit_rate})
        return rows

    def reset_stats(self) -> None:
        for ns in self._namespaces.values():
            ns.reset_stats()

    def close(self) -> None:
        if self.disk is not None:
            self.disk.close()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _after_write(self) -> None:
        if self._next_cleanup is not None and self.clock() >= self._next_cleanup:
            self.cleanup()


def _as_config(config: CacheConfig | str | Path | Mapping[str, Any] | None) -> CacheConfig | None:
    if config is None or isinstance(config, CacheConfig):
        return config
    if isinstance(config, Path) or (isinstance(config, str) and "\n" not in config
                                    and config.endswith((".yml", ".yaml"))):
        return load_config(config)
    return parse_config(config)


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise CacheError(f"cache keys are strings, got {type(key).__name__}: build one with "
                         "labkit.cache.key(...)")
