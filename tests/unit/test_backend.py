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
