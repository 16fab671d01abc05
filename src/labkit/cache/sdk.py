"""A drop-in response cache for the SDK: `cached = wrap(client, cache)`, then `cached.messages.create(...)`.

The wrapper returns genuine `anthropic.types.Message` objects: a response is stored as its
`model_dump_json()` text and restored with `Message.model_validate_json`, so a hit equals the
message the API returned. What is cached, and what is not:

- the key is a hash of the canonical request (every body parameter, in any order) plus a scope
  (the client's base URL, and the seed under the simulator), so a simulated answer is never
  served to a live client; no header, key or timeout is part of it or stored;
- requests that must not be frozen pass straight through: streams (they return events, not a
  Message), `max_tokens: 0` (a prompt-cache pre-warm), an explicit `temperature` above 0 (the
  caller asked for varied answers) and server tools (their results depend on the outside world);
- errors are raised as usual and never stored, and only complete answers are kept (`stop_reason`
  end_turn, stop_sequence, max_tokens or tool_use; not pause_turn or refusal).

`create_traced()` also says where an answer came from ("memory", "disk", "api" or "bypass"): price
only "api" answers, since a hit repeats the original `usage` but costs nothing.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import anthropic
from anthropic.types import Message

from .. import config
from . import keys
from .errors import CacheError
from .layered import Cache, Namespace
from .memory import MISSING

CACHEABLE_STOPS = ("end_turn", "stop_sequence", "max_tokens", "tool_use")
# Request options that change how a request travels, not what it asks.
TRANSPORT_OPTIONS = ("extra_headers", "timeout")
# Headers that change what the API does, and so belong in the key (values only, never stored).
SEMANTIC_HEADERS = ("anthropic-beta", "anthropic-version")


@dataclasses.dataclass(frozen=True)
class Traced:
    """A response and where it came from: "memory", "disk", "api" (a miss, now stored) or "bypass"."""

    message: Any
    source: str
    reason: str | None = None  # why a bypassed request was not cacheable

    @property
    def hit(self) -> bool:
        return self.source in ("memory", "disk")


def uncacheable(params: Mapping[str, Any]) -> str | None:
    """Why a request must not be answered from the cache, or None if it may be."""
    if params.get("stream"):
        return "stream=True returns events, not a Message"
    if params.get("max_tokens") == 0:
        return "max_tokens=0 only pre-warms the prompt cache"
    extra = params.get("extra_body") or {}
    temperature = params.get("temperature", extra.get("temperature") if isinstance(extra, Mapping) else None)
    if temperature not in (None, 0, 0.0):
        return "temperature above 0 asks for varied answers"
    for tool in params.get("tools") or ():
        kind = tool.get("type") if isinstance(tool, Mapping) else getattr(tool, "type", None)
        if kind not in (None, "custom"):
            return f"server tool {kind!r}: its results depend on the outside world"
    if params.get("container") or params.get("mcp_servers"):
        return "containers and MCP servers keep state outside the request"
    return None


def request_key(params: Mapping[str, Any], scope: str) -> str:
    """The cache key of a Messages request: a hash of its canonical body, headers that change
    behaviour, and `scope`."""
    body = {k: _plain(v) for k, v in params.items() if k not in TRANSPORT_OPTIONS and not _omitted(v)}
    headers = {k.lower(): str(v) for k, v in (params.get("extra_headers") or {}).items()
               if k.lower() in SEMANTIC_HEADERS}
    return keys.key({"scope": scope, "body": body, "headers": headers})


def default_scope(client: Any) -> str:
    """Where answers come from: the client's base URL, plus the seed when it is the simulator."""
    from ..backend import SIM_BASE_URL  # the backend module imports the SDK and the simulator

    base = str(client.base_url).rstrip("/")
    if base == SIM_BASE_URL.rstrip("/"):
        return f"{base}#seed={config.current().seed}"
    return base


class CachedMessages:
    """`messages` of a wrapped client: `create` is cached, everything else is the SDK's own."""

    def __init__(self, messages: Any, namespace: Namespace, scope: str) -> None:
        self._messages = messages
        self.namespace = namespace
        self.scope = scope
        self.sources: Counter[str] = Counter()
        self.bypassed: Counter[str] = Counter()

    def create(self, **params: Any) -> Any:
        """`client.messages.create(**params)`, answered from the cache when it safely can be."""
        return self.create_traced(**params).message

    def create_traced(self, **params: Any) -> Traced:
        params = _materialized(params)
        key, reason = self._key(params)
        if key is None:
            return self._count(Traced(self._messages.create(**params), "bypass", reason))
        found = self._lookup(key)
        if found is not None:
            return self._count(found)
        message = self._messages.create(**params)  # an error propagates: nothing is stored
        self._store(key, message)
        return self._count(Traced(message, "api"))

    def _key(self, params: dict[str, Any]) -> tuple[str | None, str | None]:
        """(key, None) for a cacheable request, else (None, why not)."""
        reason = uncacheable(params)
        if reason is not None:
            return None, reason
        try:
            return request_key(params, self.scope), None
        except CacheError:
            return None, "parameters that are not plain JSON data"

    def _lookup(self, key: str) -> Traced | None:
        value, layer = self.namespace.lookup(key)
        if value is MISSING:
            return None
        try:
            return Traced(Message.model_validate_json(value), layer)
        except (ValueError, TypeError):  # stored by an incompatible SDK version, or damaged
            self.namespace.delete(key)
            return None

    def _store(self, key: str, message: Any) -> None:
        if isinstance(message, Message) and message.stop_reason in CACHEABLE_STOPS:
            self.namespace.set(key, message.model_dump_json())

    def _count(self, traced: Traced) -> Traced:
        self.sources[traced.source] += 1
        if traced.reason:
            self.bypassed[traced.reason] += 1
        return traced

    def __getattr__(self, name: str) -> Any:
        return getattr(self._messages, name)


class AsyncCachedMessages(CachedMessages):
    """The same for `anthropic.AsyncAnthropic`: `await cached.messages.create(...)`."""

    async def create(self, **params: Any) -> Any:  # type: ignore[override]
        return (await self.create_traced(**params)).message

    async def create_traced(self, **params: Any) -> Traced:  # type: ignore[override]
        params = _materialized(params)
        key, reason = self._key(params)
        if key is None:
            return self._count(Traced(await self._messages.create(**params), "bypass", reason))
        found = self._lookup(key)
        if found is not None:
            return self._count(found)
        message = await self._messages.create(**params)
        self._store(key, message)
        return self._count(Traced(message, "api"))


class CachedClient:
    """A client whose `messages.create` is cached; every other attribute is the wrapped client's."""

    def __init__(self, client: Any, namespace: Namespace, scope: str) -> None:
        self._client = client
        is_async = isinstance(client, anthropic.AsyncAnthropic) or inspect.iscoroutinefunction(
            client.messages.create)
        kind = AsyncCachedMessages if is_async else CachedMessages
        self.messages = kind(client.messages, namespace, scope)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def wrap(client: Any, cache: Cache, namespace: str = "api_responses", *,
         scope: str | None = None) -> CachedClient:
    """Cache `client.messages.create` in `cache[namespace]`: `cached = wrap(client, cache)`.

    Works with `anthropic.Anthropic` and `anthropic.AsyncAnthropic` (and `labkit.client()`).
    `scope` separates answers that must not mix; by default the client's base URL (and seed).
    """
    return CachedClient(client, cache.namespace(namespace), scope or default_scope(client))


def _omitted(value: Any) -> bool:
    return isinstance(value, (anthropic.Omit, anthropic.NotGiven))


def _plain(value: Any) -> Any:
    """Request data as plain JSON: SDK objects (e.g. content blocks of an earlier answer) dumped."""
    if isinstance(value, anthropic.BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if not _omitted(v)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _materialized(params: dict[str, Any]) -> dict[str, Any]:
    """Iterables such as a generator of messages, turned into lists: the key and the request both read them."""
    keep = (str, bytes, Mapping, list, anthropic.BaseModel)
    return {k: list(v) if isinstance(v, Iterable) and not isinstance(v, keep) else v
            for k, v in params.items()}
