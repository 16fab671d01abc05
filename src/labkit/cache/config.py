"""The cache configuration: namespaces with their own lifetime and size bound, read from YAML.

The format is the guide's `cache_config.yml` (Section 4) made real: a `cache_layers` mapping of
namespaces, each with `ttl` (seconds, or a duration such as `24h`), `max_size` (bytes, or a size such
as `500MB` or `1GB`) and `compress: true`. labkit adds `memory_items` (the in-memory layer's bound), an
optional `defaults` mapping applied to every namespace and a top-level `cleanup_interval`.

Three of the guide's keys are not implemented, on purpose; they are ignored with a warning that
says why (`NOT_IMPLEMENTED`). Any other unknown key also warns, naming the closest known key, so a
typo such as `tll: 60` is never silently a cache without expiry. Malformed values raise
`CacheConfigError` naming the namespace, the key and an example of a valid value.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import CacheConfigError, CacheConfigWarning

# SI prefixes are powers of 1000 (1 MB = 1,000,000 bytes, as disk makers and the guide's "500MB"
# mean them); the IEC ones (KiB, MiB, GiB) are powers of 1024.
SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

DEFAULT_MAX_SIZE = 100 * 10**6  # disk bytes per namespace when the configuration names none
DEFAULT_MEMORY_ITEMS = 256
DEFAULT_CLEANUP_INTERVAL = 3600.0

NAMESPACE_KEYS = ("ttl", "max_size", "compress", "memory_items")
TOP_LEVEL_KEYS = ("cache_layers", "defaults", "cleanup_interval")
# The guide's keys labkit deliberately leaves out, and why.
NOT_IMPLEMENTED = {
    "version_control": "a cache entry must be disposable, so versions belong in git; to invalidate "
                       "entries when a template changes, put its version in the cache key",
    "index": "every entry is found by its key, a hash of what identifies the request (a topic, a "
             "canonical request); choosing what is hashed replaces a second index",
    "format": "values are stored as JSON or bytes, and `compress: true` zlib-compresses them; audio "
              "formats are already compressed, so compressing again gains nothing",
}


@dataclasses.dataclass(frozen=True)
class NamespaceConfig:
    """One namespace's policy: lifetime, disk bound, compression and in-memory bound.

    `ttl` None: entries never expire. `max_size`: bytes of keys and values on disk (sqlite's own page
    overhead is not counted). `memory_items` 0: no in-memory layer for this namespace.
    """

    name: str
    ttl: float | None = None
    max_size: int = DEFAULT_MAX_SIZE
    compress: bool = False
    memory_items: int = DEFAULT_MEMORY_ITEMS

    def __post_init__(self) -> None:
        where = f"cache_layers.{self.name}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise CacheConfigError(f"namespace name {self.name!r}: use letters, digits, _ . or - "
                                   "(starting with a letter or _), at most 64 characters")
        object.__setattr__(self, "ttl", parse_ttl(self.ttl, where=f"{where}.ttl"))
        object.__setattr__(self, "max_size", parse_size(self.max_size, where=f"{where}.max_size"))
        if not isinstance(self.compress, bool):
            raise CacheConfigError(f"{where}.compress: use true or false, got {self.compress!r}")
        if isinstance(self.memory_items, bool) or not isinstance(self.memory_items, int) \
                or self.memory_items < 0:
            raise CacheConfigError(f"{where}.memory_items: use a whole number of entries >= 0 "
                                   f"(0: no memory layer), got {self.memory_items!r}")


@dataclasses.dataclass(frozen=True)
class CacheConfig:
    """Every namespace's policy, plus how often expired entries are cleaned up automatically.

    `ignored` lists one message per configuration key that was not applied (each was also warned).
    """

    namespaces: Mapping[str, NamespaceConfig]
    cleanup_interval: float | None = DEFAULT_CLEANUP_INTERVAL
    ignored: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> NamespaceConfig:
        return self.namespaces[name]

    def describe(self) -> list[dict[str, Any]]:
        """One row per namespace (plain data, e.g. for a DataFrame)."""
        return [dataclasses.asdict(ns) for ns in self.namespaces.values()]


def parse_size(value: Any, *, where: str = "max_size") -> int:
    """Bytes from `1048576`, `"500MB"`, `"1 GB"`, `"1.5GiB"`: a positive size, units B, KB-TB, KiB-TiB."""
    if isinstance(value, bool) or value is None:
        raise _bad_size(value, where)
    if isinstance(value, (int, float)):
        number, unit = float(value), "b"
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise _bad_size(value, where)
        number, unit = float(match.group(1)), (match.group(2) or "b").lower()
        if unit not in SIZE_UNITS:
            raise _bad_size(value, where)
    size = int(number * SIZE_UNITS[unit])
    if size <= 0:
        raise CacheConfigError(f"{where}: a size must be positive, got {value!r}")
    return size


def parse_ttl(value: Any, *, where: str = "ttl") -> float | None:
    """Seconds from `3600`, `"90m"`, `"24h"`, `"7d"`, `"1w"`; None (or no key) means no expiry."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad_ttl(value, where)
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        unit = (match.group(2) or "s").lower() if match else ""
        if not match or unit not in DURATION_UNITS:
            raise _bad_ttl(value, where)
        seconds = float(match.group(1)) * DURATION_UNITS[unit]
    if not seconds > 0 or seconds == float("inf"):
        raise CacheConfigError(f"{where}: a lifetime must be a positive number of seconds "
                               f"(leave the key out for entries that never expire), got {value!r}")
    return seconds


def parse_config(data: str | Mapping[str, Any], *, source: str = "cache config") -> CacheConfig:
    """A validated `CacheConfig` from YAML text or an already-loaded mapping.

    Keys labkit does not implement are ignored with a `CacheConfigWarning` (and listed in
    `.ignored`); malformed YAML or values raise `CacheConfigError`.
    """
    if isinstance(data, str):
        data = load_yaml(data, source)
    if not isinstance(data, Mapping):
        raise CacheConfigError(f"{source}: expected a mapping with a `cache_layers` key, "
                               f"got {type(data).__name__}")
    ignored = [*_unknown(data, TOP_LEVEL_KEYS, source)]
    layers = data.get("cache_layers")
    if not isinstance(layers, Mapping) or not layers:
        raise CacheConfigError(f"{source}: `cache_layers` must map namespace names to their settings, "
                               "e.g. `cache_layers: {api_responses: {ttl: 3600, max_size: 500MB}}`")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise CacheConfigError(f"{source}: `defaults` must be a mapping of namespace settings")
    ignored += _unknown(defaults, NAMESPACE_KEYS, f"{source}: defaults")
    namespaces = {}
    for name, settings in layers.items():
        if settings is None:
            settings = {}
        if not isinstance(settings, Mapping):
            raise CacheConfigError(f"{source}: cache_layers.{name} must be a mapping of settings "
                                   f"(ttl, max_size, compress, memory_items), got {settings!r}")
        ignored += _unknown(settings, NAMESPACE_KEYS, f"{source}: cache_layers.{name}")
        merged = {**_known(defaults), **_known(settings)}
        try:
            namespaces[str(name)] = NamespaceConfig(name=str(name), **merged)
        except CacheConfigError as exc:
            raise CacheConfigError(f"{source}: {exc}") from None
    interval = data.get("cleanup_interval", DEFAULT_CLEANUP_INTERVAL)
    interval = parse_ttl(interval, where=f"{source}: cleanup_interval")
    for message in ignored:
        warnings.warn(message, CacheConfigWarning, stacklevel=2)
    return CacheConfig(namespaces=namespaces, cleanup_interval=interval, ignored=tuple(ignored))


def load_config(path: str | Path) -> CacheConfig:
    """Read and validate a YAML cache configuration file (for example `data/cache_config.yml`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CacheConfigError(f"cannot read the cache config {path}: {exc.strerror}") from None
    return parse_config(text, source=path.name)


MAX_YAML_CHARS = 64 * 1024  # a cache configuration is a screenful, not a file of megabytes
MAX_YAML_DEPTH = 20


class _BoundedLoader(yaml.SafeLoader):
    """YAML without aliases and with a depth limit: a 650-byte "billion laughs" document of nested
    aliases expands to gigabytes under a plain safe_load, which is how one answer once took down a
    grading worker. Configurations never need aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed here",
                                              event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str, source: str = "the YAML") -> Any:
    """Parse YAML that someone typed (a configuration, a student's answer): bounded in size and
    depth, no aliases; any problem is a CacheConfigError naming `source` and the line."""
    if not isinstance(text, str):
        raise CacheConfigError(f"{source}: expected YAML text, got {type(text).__name__}")
    if len(text) > MAX_YAML_CHARS:
        raise CacheConfigError(f"{source}: {len(text):,} characters is more than a configuration needs "
                               f"(at most {MAX_YAML_CHARS:,})")
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise CacheConfigError(f"{source}: not valid YAML ({problem}{where})") from None


def _known(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k in NAMESPACE_KEYS}


def _unknown(settings: Mapping[str, Any], known: tuple[str, ...], where: str) -> list[str]:
    messages = []
    for name in settings:
        if name in known:
            continue
        if name in NOT_IMPLEMENTED:
            messages.append(f"{where}: `{name}` is not implemented and is ignored: {NOT_IMPLEMENTED[name]}")
            continue
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else f" (known keys: {', '.join(known)})"
        messages.append(f"{where}: unknown key `{name}` is ignored{hint}")
    return messages


def _bad_size(value: Any, where: str) -> CacheConfigError:
    return CacheConfigError(f"{where}: {value!r} is not a size: use bytes (1048576) or a number "
                            "with a unit, e.g. 500MB, 1GB, 512KiB")


def _bad_ttl(value: Any, where: str) -> CacheConfigError:
    return CacheConfigError(f"{where}: {value!r} is not a lifetime: use seconds (3600) or a "
                            "duration, e.g. 90m, 24h, 7d")
