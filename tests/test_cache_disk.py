"""The SQLite layer under failure: LRU eviction and size bounds, corrupt and truncated entries, a
garbage file, a full disk, a locked database, and several processes sharing one file."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time

import pytest

from labkit.cache import Cache, CacheError, ManualClock, parse_config
from labkit.cache.disk import DiskStore

VALUE = "x" * 199  # with a one-letter key: 200 bytes per entry
TICK = 100  # seconds between operations: more than the store's access-time resolution


def config(**namespaces):
    return parse_config({"cleanup_interval": None, "cache_layers": namespaces})


@pytest.fixture
def clock():
    return ManualClock(1_000_000.0)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "cache.db"


def disk_only(path, clock, **settings):
    return Cache(path, config(ns={"memory_items": 0, **settings}), clock=clock)


def raw(path) -> sqlite3.Connection:
    """A second, independent connection: what another program (or a bug) could do to the file."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


# -- size bounds and LRU order -------------------------------------------------------------------


def test_disk_evicts_least_recently_used_beyond_its_size_bound(path, clock):
    cache = disk_only(path, clock, max_size=1000)  # room for five 200-byte entries
    ns = cache["ns"]
    for k in "abcde":
        ns.set(k, VALUE)
        clock.advance(TICK)
    assert ns.get("a") == VALUE  # a is now the most recently used
    clock.advance(TICK)
    ns.set("f", VALUE)  # 1,200 bytes: b, the least recently used, goes
    assert cache.disk.keys("ns") == ["c", "d", "e", "a", "f"]
    assert ns.get("b") is None
    assert ns.stats()["disk"].evictions == 1
    assert cache.disk.usage()["ns"] == (1000, 5)
    cache.close()


def test_expired_entries_are_evicted_before_live_ones(path, clock):
    cache = disk_only(path, clock, max_size=1000, ttl=1000)
    ns = cache["ns"]
    ns.set("old", "y" * 197)  # 200 bytes, expires first
    clock.advance(500)
    for k in "abcd":
        ns.set(k, VALUE)
        clock.advance(TICK)
    assert ns.get("old") == "y" * 197  # the most recently used, but...
    clock.advance(250)  # ...now expired
    ns.set("e", VALUE)
    assert cache.disk.keys("ns") == ["a", "b", "c", "d", "e"]
    stats = ns.stats()["disk"]
    assert (stats.evictions, stats.expirations) == (0, 1)
    cache.close()


def test_size_bounds_are_per_namespace(path, clock):
    cache = Cache(path, config(small={"max_size": 400, "memory_items": 0},
                               big={"max_size": 10_000, "memory_items": 0}), clock=clock)
    for i in range(10):
        cache["small"].set(str(i), "s" * 199)
        cache["big"].set(str(i), "b" * 199)
        clock.advance(TICK)
    usage = cache.disk.usage()
    assert usage["small"] == (400, 2) and usage["big"] == (2000, 10)
    cache.close()


def test_an_entry_larger_than_the_bound_is_not_stored(path, clock):
    cache = disk_only(path, clock, max_size=100)
    cache["ns"].set("k", "v" * 500)
    assert cache["ns"].get("k") is None and cache.disk.usage() == {}
    cache.close()


def test_lru_order_survives_a_restart(path, clock):
    cache = disk_only(path, clock, max_size=600)
    for k in "abc":
        cache["ns"].set(k, VALUE)
        clock.advance(TICK)
    cache["ns"].get("a")
    cache.close()  # access times are written on close
    clock.advance(TICK)
    again = disk_only(path, clock, max_size=600)
    again["ns"].set("d", VALUE)
    assert again.disk.keys("ns") == ["c", "a", "d"]
    again.close()


# -- damaged entries -----------------------------------------------------------------------------


@pytest.mark.parametrize("damage", [
    "UPDATE entries SET value = substr(value, 1, 10)",  # truncated blob
    "UPDATE entries SET value = CAST(replace(CAST(value AS TEXT), 'x', 'z') AS BLOB)",  # altered bytes
    "UPDATE entries SET flags = flags | 1",  # flagged as compressed, which it is not
    "UPDATE entries SET checksum = checksum + 1",  # a damaged checksum
    "UPDATE entries SET value = zeroblob(0)",  # emptied
])
def test_a_corrupt_entry_is_a_miss_that_gets_repaired(path, clock, damage):
    cache = disk_only(path, clock)
    cache["ns"].set("k", VALUE)
    cache["ns"].set("other", "fine")
    raw(path).execute(damage + " WHERE key = 'k'")
    assert cache["ns"].get("k") is None  # a miss, not an exception
    stats = cache["ns"].stats()["disk"]
    assert (stats.corrupt, stats.misses) == (1, 1)
    assert raw(path).execute("SELECT COUNT(*) FROM entries WHERE key = 'k'").fetchone() == (0,)  # dropped
    assert cache["ns"].get("other") == "fine"
    cache["ns"].set("k", VALUE)  # repaired by the next write
    assert cache["ns"].get("k") == VALUE
    cache.close()


def test_an_entry_moved_to_another_key_fails_its_checksum(path, clock):
    cache = disk_only(path, clock)
    cache["ns"].set("a", "answer for a")
    raw(path).execute("INSERT INTO entries SELECT namespace, 'b', value, flags, checksum, size, expires,"
                      " accessed FROM entries WHERE key = 'a'")
    assert cache["ns"].get("b") is None and cache["ns"].get("a") == "answer for a"
    cache.close()


def test_a_compressed_entry_with_a_valid_checksum_but_bad_bytes_is_a_miss(path, clock):
    from labkit.cache.disk import _checksum

    cache = disk_only(path, clock, compress=True)
    cache["ns"].set("k", "y" * 1000)
    bad = b"not zlib at all"
    raw(path).execute("UPDATE entries SET value = ?, checksum = ? WHERE key = 'k'",
                      (bad, _checksum("ns", "k", 1, bad)))  # as a buggy writer would leave it
    assert cache["ns"].get("k") is None and cache["ns"].stats()["disk"].corrupt == 1
    cache.close()


# -- a damaged file ------------------------------------------------------------------------------


def test_a_garbage_file_is_set_aside_and_replaced(path, clock):
    path.write_bytes(os.urandom(50_000))
    cache = disk_only(path, clock)  # opens without an exception
    assert cache.disk.repairs == 1
    assert path.with_name("cache.db.corrupt").exists()
    assert cache["ns"].get("k") is None
    cache["ns"].set("k", "v")
    assert cache["ns"].get("k") == "v"
    cache.close()


def test_garbage_inside_the_database_is_a_miss_then_a_fresh_file(path, clock):
    cache = disk_only(path, clock)
    for i in range(300):
        cache["ns"].set(f"key{i}", f"value {i} " + VALUE)
    cache.close()
    size = path.stat().st_size
    with open(path, "r+b") as f:  # overwrite pages in the middle with noise
        f.seek(size // 3)
        f.write(os.urandom(size // 3))
    again = disk_only(path, clock)
    found = {i: again["ns"].get(f"key{i}") for i in range(300)}
    assert all(v is None or v == f"value {i} " + VALUE for i, v in found.items())  # never a wrong value
    assert again.disk.repairs + again["ns"].stats()["disk"].corrupt >= 1
    again["ns"].set("new", "works")
    assert again["ns"].get("new") == "works"
    again.close()


def test_a_database_of_another_schema_is_replaced(path, clock):
    disk_only(path, clock).close()
    raw(path).execute("UPDATE meta SET value = '99' WHERE name = 'schema'")
    cache = disk_only(path, clock)
    assert cache.disk.repairs == 1
    cache["ns"].set("k", "v")
    assert cache["ns"].get("k") == "v"
    cache.close()


def test_a_dropped_table_is_recreated(path, clock):
    cache = disk_only(path, clock)
    cache["ns"].set("k", "v")
    raw(path).execute("DROP TABLE entries")
    assert cache["ns"].get("k") is None
    cache["ns"].set("k", "again")
    assert cache["ns"].get("k") == "again"
    cache.close()


def test_a_deleted_file_is_recreated(path, clock):
    cache = disk_only(path, clock)
    cache["ns"].set("k", "v")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    cache["ns"].set("k2", "v2")  # notices the file is gone, starts a new one
    assert cache["ns"].get("k2") == "v2"
    assert path.exists()
    cache.close()


def test_an_unusable_location_is_a_clear_error(tmp_path, clock):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CacheError, match="cannot create the cache folder"):
        Cache(blocker / "cache.db", clock=clock)


# -- a full disk and a locked database -----------------------------------------------------------


def test_a_full_disk_evicts_and_keeps_working(path, clock):
    cache = disk_only(path, clock, max_size="1GB")
    cache.disk._connection().execute("PRAGMA max_page_count = 40")  # a 160 KB disk
    for i in range(300):  # 600 KB of values: far more than fits
        cache["ns"].set(f"k{i}", f"{i:04d}" + "v" * 1996)
        clock.advance(TICK)
    stats = cache["ns"].stats()["disk"]
    assert stats.evictions > 0  # room was made by evicting the oldest entries...
    assert cache["ns"].get("k299") == "0299" + "v" * 1996  # ...so the newest are there
    assert cache["ns"].get("k0") is None
    cache.close()


def test_a_locked_database_is_retried_then_given_up_without_an_exception(path, clock):
    cache = disk_only(path, clock)
    cache.disk.timeout = 0.05
    cache.disk._conn.execute(f"PRAGMA busy_timeout = {int(cache.disk.timeout * 1000)}")
    cache["ns"].set("k", "v")
    holder = raw(path)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        started = time.perf_counter()
        cache["ns"].set("k2", "v2")  # "database is locked": retried, then skipped
        assert time.perf_counter() - started < 2
        assert cache["ns"].stats()["disk"].errors == 1
        assert cache["ns"].get("k") == "v"  # WAL: reads go on
    finally:
        holder.execute("ROLLBACK")
    cache["ns"].set("k2", "v2")
    assert cache["ns"].get("k2") == "v2"
    cache.close()


def test_a_lock_released_within_the_timeout_is_waited_for(path, clock):
    cache = disk_only(path, clock)
    holder = raw(path)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.1, lambda: holder.execute("ROLLBACK")).start()
    cache["ns"].set("k", "v")  # waits (busy timeout 1 s) instead of failing
    assert cache["ns"].get("k") == "v" and cache["ns"].stats()["disk"].errors == 0
    cache.close()


# -- several processes ---------------------------------------------------------------------------


def _writer(args):
    """Write this worker's keys and a shared one, reading everyone's as it goes."""
    path, worker, n = args
    cache = Cache(path, config(ns={"memory_items": 0}))
    ns = cache["ns"]
    wrong = 0
    for i in range(n):
        ns.set(f"w{worker}-{i}", {"worker": worker, "i": i})
        ns.set("shared", {"worker": worker, "i": i})
        for other in range(4):
            value = ns.get(f"w{other}-{i}")
            if value is not None and value != {"worker": other, "i": i}:
                wrong += 1
        shared = ns.get("shared")
        if shared is not None and set(shared) != {"worker", "i"}:
            wrong += 1
    stats = ns.stats()["disk"]
    cache.close()
    return wrong, stats.corrupt, stats.errors


def test_several_processes_share_one_file(path):
    n = 150
    Cache(path, config(ns={})).close()  # create the schema once, as the first process would
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        results = pool.map(_writer, [(path, w, n) for w in range(4)])
    assert results == [(0, 0, 0)] * 4  # no wrong value, no corrupt entry, no lost write
    cache = Cache(path, config(ns={}))
    for w in range(4):
        for i in range(n):
            assert cache["ns"].get(f"w{w}-{i}") == {"worker": w, "i": i}
    assert cache["ns"].get("shared")["i"] == n - 1
    assert cache.disk.usage()["ns"][1] == 4 * n + 1
    cache.close()


def _use_inherited(cache, queue):
    cache["ns"].set("child", os.getpid())
    queue.put(cache["ns"].get("parent"))


def test_a_forked_child_opens_its_own_connection(path):
    cache = Cache(path, config(ns={"memory_items": 0}))
    cache["ns"].set("parent", "from the parent")
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_use_inherited, args=(cache, queue))
    child.start()
    child.join(10)
    assert child.exitcode == 0 and queue.get(timeout=5) == "from the parent"
    assert isinstance(cache["ns"].get("child"), int)  # the parent's connection still works
    cache.close()


def test_store_reports_usage_per_namespace(path, clock):
    store = DiskStore(path, clock=clock)
    store.set("a", "k", b"12345", 2, None, 1000)
    store.set("b", "k", b"1", 2, None, 1000)
    assert store.usage() == {"a": (6, 1), "b": (2, 1)}
    store.clear("a")
    assert store.usage() == {"b": (2, 1)}
    store.close()
