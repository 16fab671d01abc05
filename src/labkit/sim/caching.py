"""Prompt caching: which prefix tokens of a request are read from, or written to, the cache.

The model, as the prompt-caching docs describe it (reference §3):
- A request is a sequence of blocks in the order tools → system → messages. A `cache_control`
  breakpoint on a block caches the whole prefix up to and including that block; the top-level
  `cache_control` (automatic caching) puts one on the last cacheable block. At most 4 per request.
- An entry is found only by a byte-exact prefix match on the same model: the key is a chained hash
  of each block's canonical JSON (without its `cache_control` marker, so moving a breakpoint later
  still finds the earlier entry). `tool_choice` and `thinking` are mixed in where the messages start,
  so changing them invalidates the messages only, as the docs' tiered invalidation says.
- Each breakpoint looks for an entry at its own position and up to 20 blocks before it; the longest
  live prefix found is read. Every breakpoint beyond it whose prefix reaches the model's minimum
  cacheable length is written, with its own lifetime ("5m" or "1h"); shorter prefixes are silently
  not cached. A hit refreshes the entry's lifetime.
- Token counts of prefixes are computed with `counting` exactly as `counting.request_tokens` counts
  the whole request, so read + written + uncached input always equals the request's input tokens.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

from ..models import ModelProfile
from . import counting
from .wire import invalid

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
MAX_BREAKPOINTS = 4
LOOKBACK_BLOCKS = 20
# Blocks the API does not let carry a breakpoint; automatic caching skips them.
UNCACHEABLE = ("thinking", "redacted_thinking")
# Expired entries are swept out whenever the store grows past this many.
SWEEP_AT = 10_000


@dataclasses.dataclass(frozen=True)
class CacheUsage:
    read: int = 0
    write_5m: int = 0
    write_1h: int = 0

    @property
    def written(self) -> int:
        return self.write_5m + self.write_1h


@dataclasses.dataclass(frozen=True)
class _Block:
    """One cacheable unit: a tool, a system block, or a message content block (a string is one)."""

    section: str  # "tools" | "system" | "messages"
    index: int  # tool, system block or message index
    part: int  # block index within the message (0 otherwise)
    role: str | None
    body: Mapping[str, Any]


@dataclasses.dataclass
class _Entry:
    expires_at: float
    ttl: float


class PromptCache:
    """The service-wide prompt cache: shared by every client of one `SimAPI`, thread-safe."""

    def __init__(self, min_tokens: int | None = None) -> None:
        self.min_tokens = min_tokens
        self._entries: dict[bytes, _Entry] = {}
        self._lock = threading.Lock()

    def set_min_tokens(self, value: int | None) -> None:
        """Override every model's minimum cacheable prefix (None: each model's figure from models.yaml).

        No minimum is published for the 5.5 models, so lessons can try what a different one changes.
        """
        self.min_tokens = value

    def clear(self) -> None:
        """Forget every entry, as if the cache had gone cold."""
        with self._lock:
            self._entries.clear()

    def account(self, profile: ModelProfile, params: dict[str, Any], now: float) -> CacheUsage:
        """Look the request's cacheable prefixes up at simulated time `now`; store what is written."""
        blocks = _blocks(params)
        breakpoints = _breakpoints(params, blocks)
        if not breakpoints:
            return CacheUsage()
        digests = _digests(profile.id, params, blocks)
        counts = _PrefixCounts(params, blocks, profile.tokenizer_ratio)
        minimum = profile.min_cacheable_tokens if self.min_tokens is None else self.min_tokens
        with self._lock:
            read_at = self._longest_hit(digests, breakpoints, now)
            read = counts.at(read_at) if read_at is not None else 0
            usage = {"5m": 0, "1h": 0}
            covered = read
            for position, ttl in breakpoints:
                if read_at is not None and position <= read_at:
                    continue
                prefix = counts.at(position)
                if prefix < minimum or prefix <= covered:
                    continue
                usage[ttl] += prefix - covered
                covered = prefix
                self._entries[digests[position]] = _Entry(now + TTL_SECONDS[ttl], TTL_SECONDS[ttl])
            self._sweep(now)
        return CacheUsage(read=read, write_5m=usage["5m"], write_1h=usage["1h"])

    def _longest_hit(self, digests: list[bytes], breakpoints: list[tuple[int, str]],
                     now: float) -> int | None:
        """The furthest block position with a live entry that some breakpoint's lookback reaches;
        the entry found is refreshed, as a cache hit is."""
        best: int | None = None
        for position, _ in breakpoints:
            for candidate in range(position, max(-1, position - LOOKBACK_BLOCKS - 1), -1):
                if best is not None and candidate <= best:
                    break
                entry = self._entries.get(digests[candidate])
                if entry is not None and entry.expires_at > now:
                    best = candidate
                    break
        if best is not None:
            entry = self._entries[digests[best]]
            entry.expires_at = max(entry.expires_at, now + entry.ttl)
        return best

    def _sweep(self, now: float) -> None:
        if len(self._entries) > SWEEP_AT:
            self._entries = {k: e for k, e in self._entries.items() if e.expires_at > now}


def _blocks(params: Mapping[str, Any]) -> list[_Block]:
    """The request's blocks in cache-prefix order: tools, then system, then messages."""
    out = [_Block("tools", i, 0, None, tool) for i, tool in enumerate(params.get("tools") or ())]
    system = params.get("system")
    if isinstance(system, str):
        if system:
            out.append(_Block("system", 0, 0, None, _as_block(system)))
    else:
        out.extend(_Block("system", i, 0, None, _as_block(block)) for i, block in enumerate(system or ()))
    for m, message in enumerate(params.get("messages") or ()):
        body = message.get("content")
        parts = [body] if isinstance(body, str) else list(body or ())
        out.extend(_Block("messages", m, k, message.get("role"), _as_block(part))
                   for k, part in enumerate(parts))
    return out


def _as_block(part: Any) -> Mapping[str, Any]:
    """A content part as a block: a string is the text block it stands for."""
    if isinstance(part, Mapping):
        return part
    return {"type": "text", "text": part if isinstance(part, str) else json.dumps(part, default=str)}


def _breakpoints(params: Mapping[str, Any], blocks: list[_Block]) -> list[tuple[int, str]]:
    """(block position, ttl) of each breakpoint in prefix order; 400 on a malformed or fifth one."""
    found = {}
    for position, block in enumerate(blocks):
        marker = block.body.get("cache_control")
        if marker is not None:
            found[position] = _ttl(marker, f"{_where(block)}.cache_control")
    automatic = params.get("cache_control")
    if automatic is not None:
        ttl = _ttl(automatic, "cache_control")
        last = next((p for p in range(len(blocks) - 1, -1, -1)
                     if blocks[p].body.get("type") not in UNCACHEABLE), None)
        if last is not None:
            found.setdefault(last, ttl)
    if len(found) > MAX_BREAKPOINTS:
        raise invalid(f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
                      f"Found {len(found)}.")
    return sorted(found.items())


def _ttl(marker: Any, where: str) -> str:
    if not isinstance(marker, Mapping) or marker.get("type") != "ephemeral":
        raise invalid(f"{where}.type: Input should be 'ephemeral'")
    ttl = marker.get("ttl", "5m")
    if ttl not in TTL_SECONDS:
        raise invalid(f"{where}.ttl: Input should be '5m' or '1h'")
    return ttl


def _where(block: _Block) -> str:
    if block.section == "messages":
        return f"messages.{block.index}.content.{block.part}"
    return f"{block.section}.{block.index}"


def _digests(model: str, params: Mapping[str, Any], blocks: list[_Block]) -> list[bytes]:
    """A chained hash per position: equal digests mean byte-identical prefixes on the same model."""
    digest = _hash(b"", {"model": model})
    out = []
    entered_messages = False
    for block in blocks:
        if block.section == "messages" and not entered_messages:
            entered_messages = True
            digest = _hash(digest, {"tool_choice": params.get("tool_choice"),
                                    "thinking": params.get("thinking")})
        body = {k: v for k, v in block.body.items() if k != "cache_control"}
        digest = _hash(digest, [block.section, block.index, block.role, body])
        out.append(digest)
    return out


def _hash(previous: bytes, item: Any) -> bytes:
    canonical = json.dumps(item, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.blake2b(previous + canonical, digest_size=20).digest()


class _PrefixCounts:
    """Input tokens of the prefix ending at a block, counted the way `counting.request_tokens` counts
    the whole request (and never above it), so that cached and uncached parts add up exactly."""

    def __init__(self, params: Mapping[str, Any], blocks: list[_Block], ratio: float) -> None:
        self.params = params
        self.blocks = blocks
        self.ratio = ratio
        self.total = counting.request_tokens(params, ratio)

    def at(self, position: int) -> int:
        block = self.blocks[position]
        count = self._tools(block.index + 1 if block.section == "tools" else None)
        if block.section == "system":
            count += self._system(block.index + 1)
        elif block.section == "messages":
            count += self._system(None) + self._messages(block.index, block.part + 1)
        return min(count, self.total)

    def _tools(self, upto: int | None) -> int:
        tools = list(self.params.get("tools") or ())[:upto]
        return counting.tools_tokens({**self.params, "tools": tools}, self.ratio)

    def _system(self, upto: int | None) -> int:
        system = self.params.get("system")
        if not system:
            return 0
        return counting.content_tokens(system if isinstance(system, str) else system[:upto], self.ratio)

    def _messages(self, message: int, parts: int) -> int:
        messages = self.params.get("messages") or ()
        current = counting.current_turn(messages)
        count = sum(counting.content_tokens(m.get("content", ""), self.ratio, strip_thinking=i < current)
                    for i, m in enumerate(messages[:message]))
        body = messages[message].get("content", "")
        return count + counting.content_tokens(body if isinstance(body, str) else body[:parts], self.ratio,
                                               strip_thinking=message < current)
