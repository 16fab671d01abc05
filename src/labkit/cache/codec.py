"""Values to bytes and back: JSON, text or raw bytes, optionally zlib-compressed.

Only data with one obvious byte form is stored (no pickle: unpickling a shared cache file would
run whatever code a damaged or planted entry holds). Text is stored as UTF-8 as is, bytes as is,
and anything else as JSON, so a value read back from disk equals the one a memory hit returns.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from .errors import CacheError

COMPRESSED = 1
KIND_JSON = 0
KIND_BYTES = 2
KIND_TEXT = 4
KIND_MASK = 6
COMPRESS_MIN = 128  # shorter values rarely shrink: zlib's header and checksum cost 6+ bytes
COMPRESS_LEVEL = 6

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_IMMUTABLE = (str, bytes, int, float, bool, type(None))


class DecodeError(Exception):
    """A stored blob that cannot be turned back into a value: the entry is damaged."""


def encode(value: Any, compress: bool = False) -> tuple[bytes, int]:
    """(blob, flags) for `value`; raises CacheError for values with no single byte form."""
    if isinstance(value, str):
        blob, flags = value.encode("utf-8"), KIND_TEXT
    elif isinstance(value, (bytes, bytearray, memoryview)):
        blob, flags = bytes(value), KIND_BYTES
    else:
        try:
            blob, flags = _ENCODER.encode(value).encode("utf-8"), KIND_JSON
        except (TypeError, ValueError) as exc:
            raise CacheError(f"cannot cache a value of type {type(value).__name__}: {exc}; cache "
                             "text, bytes or JSON data (for an SDK object, its model_dump_json())") from None
    if compress and len(blob) >= COMPRESS_MIN:
        packed = zlib.compress(blob, COMPRESS_LEVEL)
        if len(packed) < len(blob):
            return packed, flags | COMPRESSED
    return blob, flags


def decode(blob: bytes, flags: int) -> Any:
    """The value a blob stands for; DecodeError if it is damaged in a way the checksum missed."""
    try:
        if flags & COMPRESSED:
            blob = zlib.decompress(blob)
        kind = flags & KIND_MASK
        if kind == KIND_TEXT:
            return blob.decode("utf-8")
        if kind == KIND_BYTES:
            return bytes(blob)
        if kind == KIND_JSON:
            return json.loads(blob)
    except (zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(str(exc)) from None
    raise DecodeError(f"unknown value kind in flags {flags}")


def normalized(value: Any, blob: bytes, flags: int) -> Any:
    """The value as the disk layer would return it: a tuple comes back as a list, a dict is a copy.

    The memory layer keeps this form, so both layers answer with equal values and a caller who
    mutates the object it passed in does not change what the cache returns.
    """
    if isinstance(value, _IMMUTABLE):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return decode(blob, flags)
