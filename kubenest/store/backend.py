"""Durable backends of the store.

A backend persists committed writes and gives them back at start-up. The in-memory cache in
`kubenest.store.store` serves every read; the backend exists for durability (and, for etcd and
PostgreSQL later, for sharing between replicas).
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

# One write: (row id, key, value); value None deletes the row. Row ids are the store's: a new object
# gets the next id, so inserts append to the table's B-tree instead of landing at random places.
Op = tuple[int, str, bytes | None]
# Queued ops, the revision they commit at, and the callback to run once they are durable.
_Write = tuple[list[Op], int, Callable[[BaseException | None], None]]


class Backend(Protocol):
    def load(self) -> tuple[int, Iterator[tuple[int, str, int, bytes]]]:
        """The last committed revision and every stored (row id, key, revision, value)."""

    def write(self, ops: list[Op], rv: int, done: Callable[[BaseException | None], None]) -> None:
        """Queue `ops` committed at revision `rv`; call `done` on the event loop once durable."""

    def close(self) -> None: ...


class DatabaseInUse(OSError):
    """Another process holds the database: SQLite's exclusive lock is taken for as long as a backend is open."""


class SqliteBackend:
    """SQLite in WAL mode, written by one thread that commits queued writes in batches.

    Each batch is one transaction with `synchronous=FULL`, so a write is on disk before `done` runs
    (and before the client is answered), while many concurrent writes share one fsync.

    The event loop decides when a batch is complete: it hands the pending writes over once a whole loop
    iteration has added none (or after `max_waits` iterations, or at `max_batch` writes). Concurrent
    clients' requests reach the loop over a few iterations, and one commit for all of them costs one
    sync, while each further commit costs the core about as much as several requests. The writer used to
    sleep 0.1 ms before each batch instead, to catch the stragglers: the core idled through that sleep
    whenever every client was already waiting (10-13% more creates per second without it).
    """

    def __init__(self, path: str, loop: asyncio.AbstractEventLoop | None = None, max_batch: int = 512,
                 max_waits: int = 4) -> None:
        self.path = path
        self.max_batch = max_batch
        self.max_waits = max_waits
        self._loop = loop
        # Writes queued since the last hand-over; how many there were at the last look, and how many
        # loop iterations the hand-over has waited so far.
        self._pending: list[_Write] = []
        self._counted = 0
        self._waits = 0
        self._queue: queue.SimpleQueue[list[_Write] | None] = queue.SimpleQueue()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Statements differ by their row count (see _rows_statements): keep enough of them prepared.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, cached_statements=512)
        # Only this connection ever opens the database: holding its locks for good spares every transaction
        # the file-lock calls, and the WAL index lives in memory instead of a shared-memory file (about a
        # quarter of SQLite's time per write here). A second server on the same data directory is refused.
        self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as e:
            self._db.close()
            if "locked" in str(e):
                raise DatabaseInUse(f"{path} is in use by another kubenest server: stop that one, or give this "
                                    "one a data directory of its own") from None
            raise
        self._db.execute("PRAGMA synchronous=FULL")
        # No index on key: the store keeps key -> row id in memory and loads everything at start-up.
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects "
            "(id INTEGER PRIMARY KEY, key TEXT NOT NULL, rv INTEGER NOT NULL, value BLOB NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
        self._thread: threading.Thread | None = None

    def load(self) -> tuple[int, Iterator[tuple[int, str, int, bytes]]]:
        row = self._db.execute("SELECT v FROM meta WHERE k='rv'").fetchone()
        rv = int(row[0]) if row else 0
        return rv, iter(self._db.execute("SELECT id, key, rv, value FROM objects").fetchall())

    def write(self, ops: list[Op], rv: int, done: Callable[[BaseException | None], None]) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kubenest-sqlite-writer", daemon=True)
            self._thread.start()
        # Handing each write to the thread as it comes made the thread wake (and take the GIL) once per
        # write and commit them one by one: one fsync each. A lone write waits two loop iterations.
        self._pending.append((ops, rv, done))
        if len(self._pending) == 1:
            self._counted = self._waits = 0
            self._loop.call_soon(self._hand_over)

    def _hand_over(self) -> None:
        """Hand the pending writes to the writer, unless the last loop iteration added some (see the class)."""
        n = len(self._pending)
        if n != self._counted and n < self.max_batch and self._waits < self.max_waits:
            # Requests of this burst may still be on their way: look again after one more iteration.
            self._counted = n
            self._waits += 1
            assert self._loop is not None
            self._loop.call_soon(self._hand_over)
            return
        self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._queue.put(self._pending)
            self._pending = []

    def _run(self) -> None:
        assert self._loop is not None
        db = self._db
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            # Whatever queued up meanwhile joins this batch (group commit).
            batch = list(item)
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.extend(nxt)
            err: BaseException | None = None
            statements = _statements(batch)
            try:
                if len(statements) == 1:
                    # One statement is its own transaction, as durable as BEGIN ... COMMIT (the
                    # common batch: creates and updates only), with one trip for the GIL instead of three.
                    db.execute(*statements[0])
                else:
                    db.execute("BEGIN")
                    for sql, params in statements:
                        db.execute(sql, params)
                    db.execute("COMMIT")
            except BaseException as e:  # noqa: BLE001 - reported to every waiting writer
                err = e
                try:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            callbacks = [cb for _, _, cb in batch]
            try:
                self._loop.call_soon_threadsafe(_run_callbacks, callbacks, err)
            except RuntimeError:
                return  # loop closed during shutdown

    def close(self) -> None:
        if self._thread is not None:
            self._flush()
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._db.close()


# Rows per statement: 4 parameters each stays under SQLite's oldest limit of 999 parameters.
_CHUNK = 200
_SAVE_RV = "INSERT INTO meta(k, v) VALUES('rv', ?) ON CONFLICT(k) DO UPDATE SET v=excluded.v"


def _statements(batch: list[_Write]) -> list[tuple[str, list[object]]]:
    """The statements that store a batch of writes, in order.

    Consecutive writes of one kind go in one statement; order is kept, so a row created and deleted
    in the same batch ends deleted. One statement for many rows rather than executemany: the sqlite3
    module releases the GIL around every statement step, and taking it back from the busy event loop
    thread costs a thread switch each time. The last revision is saved apart (table meta) only when no
    stored row carries it: start-up takes the highest of both.
    """
    out: list[tuple[str, list[object]]] = []
    run: list[object] = []
    run_is_delete = False
    top = top_stored = 0
    for ops, rv, _ in batch:
        top = max(top, rv)
        for oid, key, value in ops:
            is_delete = value is None
            if run and is_delete != run_is_delete:
                out += _rows_statements(run, run_is_delete)
                run = []
            run_is_delete = is_delete
            if is_delete:
                run.append(oid)
            else:
                run += (oid, key, rv, value)
                top_stored = max(top_stored, rv)
    if run:
        out += _rows_statements(run, run_is_delete)
    if top > top_stored:
        out.append((_SAVE_RV, [top]))
    return out


def _rows_statements(params: list[object], delete: bool) -> list[tuple[str, list[object]]]:
    """Statements for rows given as flat parameters: ids to delete, or id, key, rv, value of rows to store."""
    width = 1 if delete else 4
    out: list[tuple[str, list[object]]] = []
    for start in range(0, len(params), _CHUNK * width):
        chunk = params[start:start + _CHUNK * width]
        rows = len(chunk) // width
        if delete:
            sql = "DELETE FROM objects WHERE id IN (" + ",".join("?" * rows) + ")"
        else:
            sql = ("INSERT INTO objects(id, key, rv, value) VALUES " + ",".join(["(?,?,?,?)"] * rows)
                   + " ON CONFLICT(id) DO UPDATE SET rv=excluded.rv, value=excluded.value")
        out.append((sql, chunk))
    return out


def _run_callbacks(callbacks: list[Callable[[BaseException | None], None]], err: BaseException | None) -> None:
    for cb in callbacks:
        cb(err)


class MemoryBackend:
    """No durability: for tests and benchmarks that measure everything but the disk."""

    def load(self) -> tuple[int, Iterator[tuple[int, str, int, bytes]]]:
        return 0, iter(())

    def write(self, ops: list[Op], rv: int, done: Callable[[BaseException | None], None]) -> None:
        asyncio.get_running_loop().call_soon(done, None)

    def close(self) -> None:
        pass
