"""The SQLite adapter (sqlite_driver.py): quick reads run in place, with no trip to the
connection's thread; a read that outgrows its budget, or would wait for a lock, is run again
there and answers the same; whatever writes goes there always. SQLite only (it is SQLite's
adapter): these build their own engine on a file of their own."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hyperpics.infra.engines import make_engine

# A SELECT far past the in-place budget: it counts to 300,000 (millions of VM steps).
LONG_READ = (
    "SELECT (WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300000) SELECT count(*) FROM n)"
)


class Trips:
    """Counts the jobs sent to each aiosqlite connection's thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import aiosqlite.core

        self.count = 0
        original = aiosqlite.core.Connection._execute

        async def counted(connection: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(connection, function, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)


@contextlib.asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection already made (making one takes trips), outside any transaction."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
        await connection.rollback()
        yield connection


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", pool_size=2, lock_timeout=5)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
        await connection.execute(text("INSERT INTO notes (body) VALUES ('first'), ('second')"))
    yield engine
    await engine.dispose()


async def test_a_quick_read_and_its_transaction_make_no_trip(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connected(engine) as connection:
        trips = Trips(monkeypatch)
        async with connection.begin():
            rows = (await connection.execute(text("SELECT body FROM notes ORDER BY id"))).all()
    assert [row.body for row in rows] == ["first", "second"]
    assert trips.count == 0  # BEGIN, SELECT and COMMIT all in place


async def test_a_read_past_the_budget_is_run_in_the_thread_with_the_same_answer(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connected(engine) as connection:
        trips = Trips(monkeypatch)
        async with connection.begin():
            assert (await connection.execute(text(LONG_READ))).scalar_one() == 300000
            assert trips.count == 1
            # The connection is the same afterwards: the next quick read runs in place again.
            assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 2
    assert trips.count == 1  # the long read alone: the transaction changed nothing, its COMMIT ran in place


async def test_a_read_that_outgrew_the_budget_goes_to_the_thread_at_once_for_a_while(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its time in place would be lost again: it is not tried there for its next runs."""
    from hyperpics.infra import sqlite_driver

    monkeypatch.setattr(sqlite_driver, "_outgrown", {})
    monkeypatch.setattr(sqlite_driver, "OUTGROWN_RUNS", 2)
    tried: list[str] = []
    original = sqlite_driver.OneTripConnection.in_place

    def counted(connection: Any, function: Any, operation: str, parameters: Any) -> Any:
        tried.append(operation)
        return original(connection, function, operation, parameters)

    monkeypatch.setattr(sqlite_driver.OneTripConnection, "in_place", counted)
    async with connected(engine) as connection:
        trips = Trips(monkeypatch)
        for _ in range(4):
            assert (await connection.execute(text(LONG_READ))).scalar_one() == 300000
            await connection.rollback()
        # Tried in place the first time, sent straight to the thread twice, then tried again.
        assert tried.count(LONG_READ) == 2
        assert trips.count >= 4
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 2
        assert tried[-1] == "SELECT count(*) FROM notes"  # other statements still run in place


async def test_a_write_and_its_commit_go_to_the_thread(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    async with connected(engine) as connection:
        trips = Trips(monkeypatch)
        async with connection.begin():
            await connection.execute(text("INSERT INTO notes (body) VALUES ('third')"))
        assert trips.count >= 2  # BEGIN IMMEDIATE, the INSERT, the COMMIT: none in place
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 3


async def test_a_read_that_meets_a_lock_waits_in_the_thread_not_on_the_loop(tmp_path: Path) -> None:
    # In WAL mode a reader all but never meets a lock; with a rollback journal, a writer's
    # exclusive lock keeps readers out, which is the case the adapter must not wait for in place.
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'journal.db'}", pool_size=1, lock_timeout=20)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()  # outside a transaction, as the pragma needs
            await raw.driver_connection.executescript("PRAGMA journal_mode=DELETE")  # type: ignore[union-attr]
            await connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
            await connection.execute(text("INSERT INTO notes (body) VALUES ('first'), ('second')"))
            await connection.commit()
            other = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            other.execute("UPDATE notes SET body = 'changed' WHERE id = 1")

            async def let_go() -> None:
                await asyncio.sleep(0.3)  # runs only if the loop is free while the read waits
                other.execute("COMMIT")
                other.close()

            longest_stall = 0.0

            async def tick() -> None:
                nonlocal longest_stall
                loop = asyncio.get_running_loop()
                while True:
                    before = loop.time()
                    await asyncio.sleep(0.01)
                    longest_stall = max(longest_stall, loop.time() - before)

            ticking = asyncio.create_task(tick())
            releasing = asyncio.create_task(let_go())
            await asyncio.sleep(0)  # both started: the ticker is counting
            rows = (await connection.execute(text("SELECT body FROM notes ORDER BY id"))).all()
            assert releasing.done()  # the read waited for the writer, and the loop went on meanwhile
            ticking.cancel()
            await releasing
            # Not a timing: a read waiting in place would hold the loop for the lock timeout (20 s).
            assert longest_stall < 10
        assert [row.body for row in rows] == ["changed", "second"]
    finally:
        await engine.dispose()


async def test_a_failing_read_in_place_raises_the_database_error(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(Exception, match="no such table"):
            await connection.execute(text("SELECT * FROM missing"))
        await connection.rollback()
        assert (await connection.execute(text("SELECT count(*) FROM notes"))).scalar_one() == 2


async def test_a_read_marked_long_goes_to_the_thread_at_once(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyperpics.infra.engines import long_read

    async with connected(engine) as connection:
        trips = Trips(monkeypatch)
        async with connection.begin():
            rows = (await connection.execute(long_read(text("SELECT body FROM notes ORDER BY id")))).all()
            assert trips.count == 1  # quick as it is, it was not tried in place
            await connection.execute(text("SELECT 1"))
            assert trips.count == 1  # the mark was that statement's alone
    assert [row.body for row in rows] == ["first", "second"]


async def test_connections_read_through_a_memory_map(engine: AsyncEngine) -> None:
    from hyperpics.infra.engines import SQLITE_MMAP_BYTES

    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA mmap_size")).scalar_one() == SQLITE_MMAP_BYTES
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
