"""Stable cache keys: a hash of the canonical JSON of whatever identifies a request.

Python's `hash()` changes from one process to the next and `repr()` can hold memory addresses, so a
key shared by processes and restarts is built from canonical JSON instead: keys sorted, no spaces,
ASCII only, no NaN. Two requests that mean the same (the same parameters in any order) get the same
key; anything JSON cannot represent faithfully is refused rather than guessed at.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .errors import CacheError

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical(obj: Any) -> str:
    """The canonical JSON text of `obj`: equal for equal data, whatever the order of dict keys.

    Tuples become lists and non-string dict keys become strings, as JSON has it (so `{1: x}` and
    `{"1": x}` share a key); sets, bytes, NaN and arbitrary objects are refused, since no single
    text stands for them.
    """
    try:
        return _CANONICAL.encode(obj)
    except (TypeError, ValueError) as exc:
        raise CacheError(f"cannot build a cache key: {exc}; use plain JSON data (str, int, float, "
                         "bool, None, lists and dicts with string keys)") from None


def key(obj: Any) -> str:
    """A 32-hex-digit key for `obj`: blake2b-128 of its canonical JSON (collisions: ~2**-64 at 2**32 keys)."""
    return hashlib.blake2b(canonical(obj).encode(), digest_size=16).hexdigest()
