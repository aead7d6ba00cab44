"""The SQLite backend: what it acknowledges is what a reopened database holds."""

from __future__ import annotations

import asyncio
import os
import tempfile

import pytest

from kubenest.store.backend import DatabaseInUse, Op, SqliteBackend
from kubenest.store.store import Store


async def _write_all(backend: SqliteBackend, writes: list[tuple[list[Op], int]]) -> None:
    """Queue every write in one loop iteration (so they share batches), then wait for all of them."""
    loop = asyncio.get_running_loop()
    futures = []
    for ops, rv in writes:
        fut: asyncio.Future[None] = loop.create_future()

        def done(err: BaseException | None, fut: asyncio.Future[None] = fut) -> None:
            if err is None:
                fut.set_result(None)
            else:
                fut.set_exception(err)

        backend.write(ops, rv, done)
        futures.append(fut)
    await asyncio.gather(*futures)


def test_batched_writes_keep_their_order_and_survive_reopening() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="kubenest-backend-"), "kubenest.db")
    backend = SqliteBackend(path)
    # More rows than one statement takes, a row updated in the same batch, one created and deleted in it.
    writes: list[tuple[list[Op], int]] = [([(i, f"/c/r/ns/o{i}", b"v1")], i) for i in range(1, 451)]
    writes.append(([(7, "/c/r/ns/o7", b"v2")], 451))
    writes.append(([(9, "/c/r/ns/o9", None), (3, "/c/r/ns/o3", None)], 452))
    writes.append(([(500, "/c/r/ns/gone", b"x")], 453))
    writes.append(([(500, "/c/r/ns/gone", None)], 454))
    asyncio.run(_write_all(backend, writes))
    backend.close()

    reopened = SqliteBackend(path)
    rv, rows = reopened.load()
    reopened.close()
    stored = {oid: (key, obj_rv, value) for oid, key, obj_rv, value in rows}
    assert rv == 454
    assert len(stored) == 448
    assert stored[7] == ("/c/r/ns/o7", 451, b"v2")
    assert stored[450] == ("/c/r/ns/o450", 450, b"v1")
    assert 9 not in stored and 3 not in stored and 500 not in stored


def _stored_rv(path: str) -> int:
    backend = SqliteBackend(path)
    try:
        return Store(backend).rv
    finally:
        backend.close()


def test_the_last_revision_survives_whether_a_row_or_the_meta_table_holds_it() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="kubenest-backend-"), "kubenest.db")
    backend = SqliteBackend(path)
    # Puts only: the rows carry the last revision (no meta row is written for them).
    asyncio.run(_write_all(backend, [([(1, "/c/configmaps/ns/a", b'{"metadata":{"name":"a"}}')], 5)]))
    backend.close()
    assert _stored_rv(path) == 5

    backend = SqliteBackend(path)
    # A delete last: no row carries revision 9, the meta table does.
    asyncio.run(_write_all(backend, [([(1, "/c/configmaps/ns/a", None)], 9)]))
    backend.close()
    assert _stored_rv(path) == 9


def test_a_second_backend_on_the_same_database_is_refused_while_the_first_is_open() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="kubenest-backend-"), "kubenest.db")
    backend = SqliteBackend(path)
    try:
        with pytest.raises(DatabaseInUse, match="in use by another kubenest server"):
            SqliteBackend(path)
    finally:
        backend.close()
    SqliteBackend(path).close()  # free again once the first is closed


class _RecordingBackend(SqliteBackend):
    """Records how many writes each hand-over to the writer thread carries."""

    def __init__(self, path: str, max_waits: int = 4) -> None:
        super().__init__(path, max_waits=max_waits)
        self.handed: list[int] = []

    def _flush(self) -> None:
        if self._pending:
            self.handed.append(len(self._pending))
        super()._flush()


async def _one_write_per_iteration(backend: SqliteBackend, count: int) -> None:
    """Queue `count` writes, one per event-loop iteration, as the requests of a burst arrive; wait for all."""
    loop = asyncio.get_running_loop()
    futures = []
    for i in range(1, count + 1):
        fut: asyncio.Future[BaseException | None] = loop.create_future()
        backend.write([(i, f"/c/r/ns/o{i}", b"v")], i, fut.set_result)
        futures.append(fut)
        await asyncio.sleep(0)  # the next loop iteration
    assert await asyncio.gather(*futures) == [None] * count


def test_writes_arriving_over_a_few_loop_iterations_share_one_commit() -> None:
    backend = _RecordingBackend(os.path.join(tempfile.mkdtemp(prefix="kubenest-backend-"), "kubenest.db"))
    statements: list[str] = []
    backend._db.set_trace_callback(statements.append)
    asyncio.run(_one_write_per_iteration(backend, 3))
    backend.close()
    # The hand-over waited for an iteration that brought no write: one transaction, one sync for the three.
    assert backend.handed == [3]
    assert [s.count("'/c/r/ns/") for s in statements if s.startswith("INSERT INTO objects")] == [3]


def test_a_steady_stream_of_writes_is_handed_over_after_a_bounded_wait() -> None:
    backend = _RecordingBackend(os.path.join(tempfile.mkdtemp(prefix="kubenest-backend-"), "kubenest.db"),
                                max_waits=4)
    asyncio.run(_one_write_per_iteration(backend, 30))
    backend.close()
    # A write every iteration never lets the loop see a quiet one: each hand-over leaves after 4 waits
    # (the write that started it and one per iteration waited) instead of at the end of the stream.
    assert backend.handed == [5] * 6
