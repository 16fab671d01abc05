"""The persistent layer: one SQLite database in WAL mode, shared safely by threads and processes.

SQLite is the proven store here: every write is a transaction (`BEGIN IMMEDIATE`, so two writers
queue instead of deadlocking), WAL lets readers proceed while one process writes, and a busy timeout
plus a few retries absorb "database is locked". What the store adds is the cache's promise that
damaged data is a miss, never a crash:

- every value carries a CRC-32 over its namespace, key, flags and bytes, so a truncated or altered
  blob (or one moved to another key) fails the check, is deleted and counts as `corrupt`;
- a file that is no longer a database ("file is not a database", "malformed") is renamed aside to
  `<name>.corrupt` and a fresh database takes its place (`repairs`);
- a namespace over its size bound evicts its least recently used entries (expired ones first), and
  a write that finds the disk itself full evicts a tenth of the store and tries once more;
- an operation that still cannot finish is given up: a read is a miss, a write is skipped (`errors`).

Reads stay reads: a hit records its access time in memory (only if the stored one is more than
`ACCESS_RESOLUTION_S` old), and the next write transaction stores those times before it decides
what to evict, so LRU order costs no write per read.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import codec
from .errors import CacheError
from .stats import LayerStats

SCHEMA_VERSION = 2
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE IF NOT EXISTS entries (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        flags INTEGER NOT NULL,
        checksum INTEGER NOT NULL,
        size INTEGER NOT NULL,
        expires REAL,
        accessed REAL NOT NULL
    )""",
    # A rowid table with a unique index, not WITHOUT ROWID: values of kilobytes would bloat its b-tree.
    "CREATE UNIQUE INDEX IF NOT EXISTS entries_key ON entries (namespace, key)",
    "CREATE INDEX IF NOT EXISTS entries_lru ON entries (namespace, accessed)",
    "CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires) WHERE expires IS NOT NULL",
    # Bytes and entries per namespace, kept by triggers so a size check is one row, not a scan.
    """CREATE TABLE IF NOT EXISTS usage (
        namespace TEXT PRIMARY KEY, bytes INTEGER NOT NULL, entries INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TRIGGER IF NOT EXISTS usage_insert AFTER INSERT ON entries BEGIN
        INSERT INTO usage VALUES (NEW.namespace, NEW.size, 1) ON CONFLICT (namespace)
        DO UPDATE SET bytes = bytes + NEW.size, entries = entries + 1;
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_update AFTER UPDATE OF size ON entries BEGIN
        UPDATE usage SET bytes = bytes - OLD.size + NEW.size WHERE namespace = NEW.namespace;
    END""",
    """CREATE TRIGGER IF NOT EXISTS usage_delete AFTER DELETE ON entries BEGIN
        UPDATE usage SET bytes = bytes - OLD.size, entries = entries - 1 WHERE namespace = OLD.namespace;
    END""",
)
UPSERT = """INSERT INTO entries (namespace, key, value, flags, checksum, size, expires, accessed)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET
    value = excluded.value, flags = excluded.flags, checksum = excluded.checksum,
    size = excluded.size, expires = excluded.expires, accessed = excluded.accessed"""
SELECT = "SELECT value, flags, checksum, expires, accessed FROM entries WHERE namespace = ? AND key = ?"

# SQLite result codes (the low byte of `sqlite_errorcode`).
BUSY, LOCKED, CORRUPT, FULL, NOTADB = 5, 6, 11, 13, 26
# Like a file system's `relatime`: a read newer than this since the entry's stored access time
# records nothing, so a hot entry costs no write at all; LRU order is exact to this resolution.
ACCESS_RESOLUTION_S = 60.0
TOUCH_FLUSH = 1024  # pending access times stored in one go once this many have piled up
IDENTITY_EVERY = 128  # reads between checks that the file is still the one this process opened
# SQLite's page cache per connection (its default is 2 MB). No mmap: a file truncated by another
# program under a memory map kills the process with SIGBUS, and a cache must never crash it.
PAGE_CACHE_KIB = 32 * 1024
EVICT_ON_FULL = 0.10  # share of the store dropped when the disk itself is full
# Connections a forked child inherited: kept alive so that garbage collection never closes them
# from the child (SQLite forbids using a connection across fork; closing one could checkpoint).
_INHERITED: list[sqlite3.Connection] = []


class DiskStore:
    """Entries of every namespace in one SQLite file; one connection per process, shared by threads.

    `timeout` is SQLite's busy timeout per attempt and `retries` the extra attempts after it, so a
    cache whose file is locked for long gives up (a miss) rather than stall the request it serves.
    """

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time,
                 timeout: float = 1.0, retries: int = 2) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.retries = retries
        self.repairs = 0
        self._clock = clock
        self._stats: dict[str, LayerStats] = {}
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._identity: tuple[int, int] | None = None
        self._touched: dict[tuple[str, str], float] = {}
        self._reads = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create the cache folder {self.path.parent}: {exc.strerror}") from None
        with self._lock:
            if not self._run(lambda conn: True, write=False, fallback=False, namespace=None):
                raise CacheError(f"cannot open the cache database {self.path}: check that the folder "
                                 "is writable and the file is not held by another program")

    # -- public operations ---------------------------------------------------------------------

    def stats(self, namespace: str) -> LayerStats:
        if namespace not in self._stats:
            self._stats[namespace] = LayerStats()
        return self._stats[namespace]

    def get(self, namespace: str, key: str) -> tuple[Any, float | None] | None:
        """(value, expires) of a live, intact entry, else None (missing, expired or damaged)."""
        stats = self.stats(namespace)
        with self._lock:
            self._reads += 1
            if self._reads % IDENTITY_EVERY == 0:
                self._check_identity()
            row = self._run(lambda conn: conn.execute(SELECT, (namespace, key)).fetchone(),
                            write=False, fallback=None, namespace=namespace)
            if row is None:
                stats.misses += 1
                return None
            blob, flags, checksum, expires, accessed = row
            now = self._clock()
            if expires is not None and expires <= now:
                stats.expirations += 1
                stats.misses += 1
                return None
            try:
                if checksum != _checksum(namespace, key, flags, blob):
                    raise codec.DecodeError("checksum mismatch")
                value = codec.decode(blob, flags)
            except codec.DecodeError:
                stats.corrupt += 1
                stats.misses += 1
                self._run(lambda conn: _delete(conn, namespace, key), write=True, fallback=None,
                          namespace=namespace)
                return None
            stats.hits += 1
            if now - accessed >= ACCESS_RESOLUTION_S:
                self._touched[(namespace, key)] = now
            if len(self._touched) >= TOUCH_FLUSH:
                self._run(lambda conn: None, write=True, fallback=None, namespace=namespace)
            return value, expires

    def set(self, namespace: str, key: str, blob: bytes, flags: int, expires: float | None,
            max_size: int) -> bool:
        """Store an encoded value, evicting within the namespace to stay under `max_size` bytes.

        Returns False when the entry was not stored (larger than the bound, or the write gave up).
        """
        stats = self.stats(namespace)
        size = len(key) + len(blob)
        if size > max_size:
            return False
        row = (namespace, key, blob, flags, _checksum(namespace, key, flags, blob), size, expires,
               self._clock())

        def write(conn: sqlite3.Connection) -> bool:
            conn.execute(UPSERT, row)
            used = conn.execute("SELECT bytes FROM usage WHERE namespace = ?", (namespace,)).fetchone()
            if used and used[0] > max_size:
                self._evict(conn, namespace, key, used[0] - max_size, stats)
            return True

        with self._lock:
            self._check_identity()
            stored = self._run(write, write=True, fallback=False, namespace=namespace)
            if stored:
                stats.sets += 1
        return stored

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            return bool(self._run(lambda conn: _delete(conn, namespace, key), write=True,
                                  fallback=False, namespace=namespace))

    def cleanup(self) -> dict[str, int]:
        """Delete every expired entry, recount the usage table, give free pages back to the disk.

        Returns the number of entries removed per namespace.
        """
        now = self._clock()

        def sweep(conn: sqlite3.Connection) -> Counter:
            removed = Counter(ns for (ns,) in conn.execute(
                "DELETE FROM entries WHERE expires IS NOT NULL AND expires <= ? RETURNING namespace",
                (now,)))
            conn.execute("DELETE FROM usage")
            conn.execute("INSERT INTO usage SELECT namespace, SUM(size), COUNT(*) FROM entries "
                         "GROUP BY namespace")
            return removed

        with self._lock:
            self._check_identity()
            removed = self._run(sweep, write=True, fallback=Counter(), namespace=None)
            self._run(lambda conn: conn.execute("PRAGMA incremental_vacuum").fetchall(), write=False,
                      fallback=None, namespace=None)
            for namespace, count in removed.items():
                self.stats(namespace).expirations += count
        return dict(removed)

    def usage(self) -> dict[str, tuple[int, int]]:
        """(bytes, entries) stored per namespace, as the store counts them."""
        with self._lock:
            rows = self._run(lambda conn: conn.execute("SELECT namespace, bytes, entries FROM usage")
                             .fetchall(), write=False, fallback=[], namespace=None)
        return {ns: (size, count) for ns, size, count in rows if count}

    def keys(self, namespace: str) -> list[str]:
        """Keys from least to most recently used, as far as the store knows (for tests and lessons)."""
        with self._lock:
            self._run(lambda conn: None, write=True, fallback=None, namespace=namespace)
            rows = self._run(lambda conn: conn.execute(
                "SELECT key FROM entries WHERE namespace = ? ORDER BY accessed, key", (namespace,))
                .fetchall(), write=False, fallback=[], namespace=namespace)
        return [k for (k,) in rows]

    def clear(self, namespace: str | None = None) -> None:
        """Delete every entry (of one namespace, or all)."""
        def wipe(conn: sqlite3.Connection) -> None:
            if namespace is None:
                conn.execute("DELETE FROM entries")
            else:
                conn.execute("DELETE FROM entries WHERE namespace = ?", (namespace,))

        with self._lock:
            self._touched.clear()
            self._run(wipe, write=True, fallback=None, namespace=namespace)

    def close(self) -> None:
        """Store pending access times and close this process's connection."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._run(lambda conn: None, write=True, fallback=None, namespace=None)
                self._conn.close()
            self._conn = None

    # -- connection, transactions and recovery -------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This process's connection, opened on first use and again after a fork."""
        if self._conn is None or self._pid != os.getpid():
            if self._conn is not None:  # inherited through fork: never use it, and never close it
                _INHERITED.append(self._conn)
            self._conn = None
            self._touched.clear()
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
            try:
                self._pid = os.getpid()
                self._identity = _identity(self.path)
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect on a new file
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
                _create_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _run(self, op: Callable[[sqlite3.Connection], Any], *, write: bool, fallback: Any,
             namespace: str | None) -> Any:
        """Run `op` (in a write transaction if `write`), absorbing every kind of database trouble.

        Locked: wait and retry. Damaged file: set it aside, start a fresh one, retry. Disk full:
        evict a share of the store, retry once. Anything still failing returns `fallback`.
        """
        attempts_left = self.retries
        repaired = relieved = False
        while True:
            try:
                conn = self._connection()
                if not write:
                    return op(conn)
                with _immediate(conn):
                    self._flush_touches(conn)
                    return op(conn)
            except sqlite3.DatabaseError as exc:
                code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
                if code in (BUSY, LOCKED) and attempts_left > 0:
                    attempts_left -= 1
                    time.sleep(random.uniform(0.005, 0.02) * (self.retries - attempts_left))
                    continue
                if code in (CORRUPT, NOTADB) or _schema_mismatch(exc):
                    if not repaired:
                        repaired = True
                        self._repair()
                        continue
                elif code == FULL and write and not relieved:
                    relieved = True
                    if self._relieve():
                        continue
                elif "no such table" in str(exc) and not repaired:
                    repaired = True  # someone dropped a table: recreate the schema once
                    self._conn = None
                    continue
                if namespace is not None:
                    self.stats(namespace).errors += 1
                return fallback

    def _flush_touches(self, conn: sqlite3.Connection) -> None:
        if self._touched:
            conn.executemany("UPDATE entries SET accessed = ? WHERE namespace = ? AND key = ?",
                             [(t, ns, k) for (ns, k), t in self._touched.items()])
            self._touched.clear()

    def _evict(self, conn: sqlite3.Connection, namespace: str, keep: str, excess: int,
               stats: LayerStats) -> None:
        """Free `excess` bytes in `namespace`: expired entries first, then least recently used."""
        now = self._clock()
        for (size,) in conn.execute("DELETE FROM entries WHERE namespace = ? AND expires IS NOT NULL "
                                    "AND expires <= ? RETURNING size", (namespace, now)).fetchall():
            excess -= size
            stats.expirations += 1
        while excess > 0:
            victims = conn.execute("SELECT key, size FROM entries WHERE namespace = ? AND key != ? "
                                   "ORDER BY accessed, key LIMIT 64", (namespace, keep)).fetchall()
            if not victims:
                return
            chosen = []
            for victim, size in victims:
                chosen.append((namespace, victim))
                excess -= size
                if excess <= 0:
                    break
            conn.executemany("DELETE FROM entries WHERE namespace = ? AND key = ?", chosen)
            stats.evictions += len(chosen)

    def _relieve(self) -> bool:
        """The disk is full: drop the least recently used tenth of all entries. True if any went."""
        def drop(conn: sqlite3.Connection) -> Counter:
            total = conn.execute("SELECT COALESCE(SUM(entries), 0) FROM usage").fetchone()[0]
            n = max(1, int(total * EVICT_ON_FULL))
            return Counter(ns for (ns,) in conn.execute(
                "DELETE FROM entries WHERE (namespace, key) IN (SELECT namespace, key FROM entries "
                "ORDER BY accessed LIMIT ?) RETURNING namespace", (n,)))

        try:
            conn = self._connection()
            with _immediate(conn):
                dropped = drop(conn)
            conn.execute("PRAGMA incremental_vacuum").fetchall()
        except sqlite3.DatabaseError:
            return False
        for namespace, count in dropped.items():
            self.stats(namespace).evictions += count
        return bool(dropped)

    def _check_identity(self) -> None:
        """Reconnect if the file was replaced (another process repaired it) or removed."""
        if self._conn is not None and _identity(self.path) != self._identity:
            self._conn.close()
            self._conn = None

    def _repair(self) -> None:
        """Set a damaged database aside (with its WAL) and let the next connection start afresh.

        If the file on disk is no longer the one this process opened, another process has already
        repaired it: only reconnect.
        """
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None
        self._touched.clear()
        if _identity(self.path) == self._identity:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.replace(f"{self.path}{suffix}", f"{self.path}.corrupt{suffix}")
                except FileNotFoundError:
                    pass
                except OSError:
                    return
        self.repairs += 1


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        version = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    if version != str(SCHEMA_VERSION):
        raise _SchemaMismatch(f"cache schema {version}, expected {SCHEMA_VERSION}")


class _SchemaMismatch(sqlite3.DatabaseError):
    """A database written by another layout: set aside and replaced, like a damaged one."""


def _schema_mismatch(exc: Exception) -> bool:
    return isinstance(exc, _SchemaMismatch)


def _delete(conn: sqlite3.Connection, namespace: str, key: str) -> bool:
    return conn.execute("DELETE FROM entries WHERE namespace = ? AND key = ?",
                        (namespace, key)).rowcount > 0


def _checksum(namespace: str, key: str, flags: int, blob: bytes) -> int:
    """CRC-32 of the value's bytes, seeded with where it belongs: a value moved to another key fails."""
    return zlib.crc32(blob, zlib.crc32(f"{namespace}\0{key}\0{flags}".encode()))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock up front (no deadlock upgrading a read lock)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
