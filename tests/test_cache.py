"""The layered cache: keys, the memory LRU, expiry on an injected clock, compression, the decorator,
statistics per layer and cleanup. Disk failures: test_cache_disk.py; the SDK wrapper: test_cache_sdk.py."""

from __future__ import annotations

import asyncio
import zlib

import pytest

from labkit.cache import MISSING, Cache, CacheError, ManualClock, canonical, key, parse_config
from labkit.cache import codec
from labkit.cache.memory import MemoryLayer


GOLDEN = "8e75ba1fd4b7cc9862c66c4c4432fb66"  # blake2b-128 of the canonical JSON below


def config(**namespaces):
    return parse_config({"cleanup_interval": None, "cache_layers": namespaces})


@pytest.fixture
def clock():
    return ManualClock(1_000_000.0)


# -- keys ----------------------------------------------------------------------------------------


def test_keys_ignore_dict_order_and_are_stable_across_processes():
    a = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    b = {"max_tokens": 5, "messages": [{"content": "hi", "role": "user"}], "model": "m"}
    assert key(a) == key(b) and len(key(a)) == 32
    assert canonical(a) == '{"max_tokens":5,"messages":[{"content":"hi","role":"user"}],"model":"m"}'
    # A fixed digest: the same in every process and on every machine (unlike hash(), salted per process).
    assert key(a) == GOLDEN


def test_keys_distinguish_what_differs():
    assert key({"a": 1}) != key({"a": 2}) != key({"a": "1"})
    assert key([1, 2]) != key([2, 1])


@pytest.mark.parametrize("bad", [{1, 2}, b"bytes", float("nan"), object(), {"a": {1j}}])
def test_keys_refuse_what_json_cannot_represent(bad):
    with pytest.raises(CacheError, match="cannot build a cache key"):
        key(bad)


# -- memory layer --------------------------------------------------------------------------------


def test_memory_layer_evicts_least_recently_used(clock):
    memory = MemoryLayer(3, clock)
    for k in "abc":
        memory.put(k, k.upper())
    assert memory.get("a") == "A"  # a becomes the most recent
    memory.put("d", "D")  # evicts b, the least recently used
    assert memory.keys() == ["c", "a", "d"]
    assert memory.get("b") is MISSING
    assert (memory.stats.evictions, memory.stats.hits, memory.stats.misses) == (1, 1, 1)


def test_memory_layer_expires_on_the_injected_clock(clock):
    memory = MemoryLayer(10, clock)
    memory.put("k", 1, expires=clock() + 60)
    clock.advance(59.9)
    assert memory.get("k") == 1
    clock.advance(0.1)
    assert memory.get("k") is MISSING
    assert memory.stats.expirations == 1 and len(memory) == 0


def test_memory_layer_purges_expired_entries(clock):
    memory = MemoryLayer(10, clock)
    memory.put("old", 1, expires=clock() + 10)
    memory.put("new", 2, expires=clock() + 100)
    clock.advance(50)
    assert memory.purge_expired() == 1 and memory.keys() == ["new"]


def test_memory_layer_needs_room_for_one_entry(clock):
    with pytest.raises(ValueError):
        MemoryLayer(0, clock)


# -- the layered cache ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [None, "disk"])
def test_set_then_get_in_both_layers(tmp_path, clock, path):
    cache = Cache(tmp_path / "c.db" if path else None, clock=clock)
    ns = cache["research"]
    assert ns.get("k") is None and ns.get("k", "dflt") == "dflt"
    assert ns.set("k", {"facts": ("a", "b")}) == {"facts": ["a", "b"]}  # as JSON returns it
    assert ns.get("k") == {"facts": ["a", "b"]}
    ns.set("none", None)
    assert ns.get("none", "dflt") is None  # None is a value, not a miss
    cache.close()


def test_a_second_cache_on_the_same_file_is_served_from_disk(tmp_path, clock):
    first = Cache(tmp_path / "c.db", clock=clock)
    first["ns"].set("k", "value")
    second = Cache(tmp_path / "c.db", clock=clock)  # a restarted process: memory is cold
    assert second["ns"].lookup("k") == ("value", "disk")
    assert second["ns"].lookup("k") == ("value", "memory")  # promoted
    stats = second["ns"].stats()
    assert (stats["memory"].misses, stats["memory"].hits, stats["disk"].hits) == (1, 1, 1)
    first.close(), second.close()


def test_values_are_copies_not_the_callers_objects(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", clock=clock)
    value = {"a": [1]}
    cache["ns"].set("k", value)
    value["a"].append(2)
    assert cache["ns"].get("k") == {"a": [1]}
    cache.close()


@pytest.mark.parametrize("value", ["text é", b"\x00\xffbytes", 42, 1.5, True, [1, "a"], {"n": None}])
@pytest.mark.parametrize("compress", [False, True])
def test_every_kind_of_value_round_trips(tmp_path, clock, value, compress):
    cache = Cache(tmp_path / "c.db", config(ns={"compress": compress, "memory_items": 0}), clock=clock)
    cache["ns"].set("k", value)
    assert cache["ns"].get("k") == value and type(cache["ns"].get("k")) is type(value)
    cache.close()


def test_compression_round_trip_shrinks_what_it_can(tmp_path, clock):
    text = "The observer effect: measuring a system disturbs it. " * 200
    blob, flags = codec.encode(text, compress=True)
    assert flags & codec.COMPRESSED and len(blob) < len(text) / 10
    assert codec.decode(blob, flags) == text
    assert zlib.decompress(blob).decode() == text  # plain zlib, readable by anything
    tiny, tiny_flags = codec.encode("short", compress=True)
    assert not tiny_flags & codec.COMPRESSED and tiny == b"short"  # too small to gain
    cache = Cache(tmp_path / "c.db", config(ns={"compress": True}), clock=clock)
    cache["ns"].set("k", text)
    assert cache.disk.usage()["ns"][0] < len(text) / 10
    assert Cache(tmp_path / "c.db", config(ns={}), clock=clock)["ns"].get("k") == text
    cache.close()


@pytest.mark.parametrize("bad", [{1, 2}, object(), float("nan")])
def test_values_without_a_byte_form_are_refused(clock, bad):
    with pytest.raises(CacheError, match="cannot cache a value"):
        Cache(clock=clock)["ns"].set("k", bad)


@pytest.mark.parametrize("bad", [1, ("a",), None])
def test_keys_must_be_strings(tmp_path, clock, bad):
    cache = Cache(tmp_path / "c.db", clock=clock)
    with pytest.raises(CacheError, match="cache keys are strings"):
        cache["ns"].set(bad, 1)
    with pytest.raises(CacheError, match="cache keys are strings"):
        cache["ns"].get(bad)
    with pytest.raises((CacheError, TypeError)):
        cache["ns"].get(["unhashable"])
    cache.close()


def test_namespaces_keep_their_own_ttl(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", config(api={"ttl": 3600}, research={"ttl": "24h"}, forever={}),
                  clock=clock)
    for name in ("api", "research", "forever"):
        cache[name].set("k", name)
    clock.advance(3600)
    assert cache["api"].get("k") is None
    assert cache["research"].get("k") == "research"
    clock.advance(86400)
    assert cache["research"].get("k") is None and cache["forever"].get("k") == "forever"
    # a fresh process sees the same expiry on disk
    fresh = Cache(tmp_path / "c.db", config(api={"ttl": 3600}, research={}, forever={}), clock=clock)
    assert fresh["research"].get("k") is None and fresh["forever"].get("k") == "forever"
    cache.close(), fresh.close()


def test_namespaces_do_not_share_entries(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", clock=clock)
    cache["a"].set("k", 1)
    assert cache["b"].get("k") is None
    cache.close()


def test_get_or_set_computes_once_and_never_caches_errors(clock):
    ns = Cache(clock=clock)["ns"]
    calls = []

    def compute():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("API down")
        return "ok"

    with pytest.raises(RuntimeError):
        ns.get_or_set("k", compute)
    assert ns.get_or_set("k", compute) == "ok" and ns.get_or_set("k", compute) == "ok"
    assert len(calls) == 2


def test_cleanup_removes_expired_entries_from_both_layers(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", config(short={"ttl": 60}, long={"ttl": 600}), clock=clock)
    for i in range(5):
        cache["short"].set(f"s{i}", i)
        cache["long"].set(f"l{i}", i)
    clock.advance(120)
    assert cache.cleanup() == {"short": 5, "long": 0}
    assert len(cache["short"].memory) == 0 and len(cache["long"].memory) == 5
    assert cache.disk.usage() == {"long": cache.disk.usage()["long"]}
    assert cache.disk.usage()["long"][1] == 5
    cache.close()


def test_cleanup_runs_by_itself_every_interval(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", parse_config({"cleanup_interval": "1h",
                                                   "cache_layers": {"ns": {"ttl": 60}}}), clock=clock)
    cache["ns"].set("old", 1)
    clock.advance(1800)
    cache["ns"].set("x", 1)  # not yet an hour: nothing swept
    assert cache.disk.usage()["ns"][1] == 2
    clock.advance(1800)
    cache["ns"].set("y", 1)  # an hour since the cache opened: sweeps "old" and "x"
    assert cache.disk.usage()["ns"][1] == 1
    cache.close()


def test_stats_rows_per_layer_and_overall(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", config(ns={"memory_items": 2}), clock=clock)
    ns = cache["ns"]
    for k in "abc":
        ns.set(k, k)  # memory keeps b, c; disk keeps all
    for k in "cbax":  # c, b: memory hits; a: from disk; x: a miss in both
        ns.get(k)
    rows = {r["layer"]: r for r in cache.stats()}
    assert rows["memory"]["hits"] == 2 and rows["memory"]["misses"] == 2
    assert rows["memory"]["evictions"] >= 1
    assert rows["disk"]["hits"] == 1 and rows["disk"]["misses"] == 1
    assert rows["all layers"]["hits"] == 3 and rows["all layers"]["hit_rate"] == 0.75
    assert ns.hit_rate == 0.75
    cache.reset_stats()
    assert ns.lookups == 0
    cache.close()


# -- the decorator -------------------------------------------------------------------------------


def test_memoize_caches_by_arguments(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", clock=clock)
    calls = []

    @cache.memoize("research")
    def research(topic, depth=1):
        calls.append((topic, depth))
        return {"topic": topic, "facts": ["f"] * depth}

    assert research("chaos", depth=2) == research("chaos", depth=2) == {"topic": "chaos", "facts": ["f", "f"]}
    research("chaos")
    assert calls == [("chaos", 2), ("chaos", 1)]
    assert research.__name__ == "research" and research.cache is cache["research"]
    cache.close()


def test_memoize_key_function_and_version(clock):
    cache = Cache(clock=clock)
    calls = []

    def normalise(topic):
        return topic.strip().lower()

    @cache.memoize("research", key=normalise)
    def research(topic):
        calls.append(topic)
        return topic.strip().lower()

    research("Chaos Theory"), research("  chaos theory ")
    assert len(calls) == 1

    @cache.memoize("research", key=normalise, version=2)
    def research(topic):  # noqa: F811 - the same function, a new version
        calls.append(topic)
        return topic

    research("chaos theory")
    assert len(calls) == 2


def test_memoize_refuses_arguments_it_cannot_key(clock):
    cache = Cache(clock=clock)

    @cache.memoize("ns")
    def f(x):
        return 1

    with pytest.raises(CacheError, match=r"test_cache.*f: cannot build a cache key.*key=\.\.\."):
        f(object())


def test_memoize_async_functions_and_errors_are_not_cached(clock):
    cache = Cache(clock=clock)
    calls = []

    @cache.memoize("ns")
    async def fetch(topic):
        calls.append(topic)
        if len(calls) == 1:
            raise RuntimeError("overloaded")
        return topic.upper()

    async def main():
        with pytest.raises(RuntimeError):
            await fetch("a")
        return await fetch("a"), await fetch("a")

    assert asyncio.run(main()) == ("A", "A") and calls == ["a", "a"]


def test_memoize_ttl_expiry(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", config(ns={"ttl": 10}), clock=clock)
    calls = []

    @cache.memoize("ns")
    def f(x):
        calls.append(x)
        return x

    f(1), f(1)
    clock.advance(10)
    f(1)
    assert calls == [1, 1]
    cache.close()


def test_memoize_keeps_arguments_equal_in_python_but_not_in_json_apart(clock):
    cache = Cache(clock=clock)
    calls = []

    @cache.memoize("ns")
    def describe(x):
        calls.append(x)
        return repr(x)

    assert [describe(1), describe(1.0), describe(True), describe(1)] == ["1", "1.0", "True", "1"]
    assert calls == [1, 1.0, True]
    assert describe([1, 2]) == describe([1, 2]) == "[1, 2]"  # unhashable arguments work too
    assert describe(x=2) == "2" and describe(x=2.0) == "2.0"
    assert len(calls) == 6


def test_clear_empties_one_namespace_in_both_layers(tmp_path, clock):
    cache = Cache(tmp_path / "c.db", clock=clock)
    cache["a"].set("k", 1)
    cache["b"].set("k", 2)
    cache["a"].clear()
    assert cache["a"].get("k") is None and cache["b"].get("k") == 2
    assert Cache(tmp_path / "c.db", clock=clock)["a"].get("k") is None  # gone from disk too
    cache.close()


def test_a_namespace_needs_at_least_one_layer(clock):
    with pytest.raises(CacheError, match="no layer at all"):
        Cache(None, config(ns={"memory_items": 0}), clock=clock)
