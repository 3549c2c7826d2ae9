"""SQLAlchemy's aiosqlite adapter, one trip to the database thread per statement.

aiosqlite runs each connection's sqlite3 calls in a thread of its own; every call is a trip
there and back (a queue, then a wake-up of the event loop). SQLAlchemy's adapter makes four
per statement: make a cursor, execute, fetch the rows, close the cursor. Here a statement is
one function run in that thread (a sqlite3 cursor made, executed, read and closed there), and
the adapter keeps what it returned: a page of five statements makes five trips, not twenty.
Under load each trip also waits its turn on a busy loop, so this is most of their cost.

Reads that finish quickly make no trip at all. A trip costs far more than a small indexed
SELECT (tens of microseconds in SQLite): a page of a member paid more for the trips of its
BEGIN, viewer query and COMMIT than for everything else the database did. So a SELECT, a
deferred BEGIN, and the COMMIT or ROLLBACK of a transaction that changed nothing run right
where they are asked for, under a time budget (checked by a progress handler): a statement
that outgrows it is interrupted and run again in the thread, from the start (a read is
idempotent, and its transaction's snapshot is the same). A statement known to be long is
sent to the thread at once (engines.long_read). Whatever may wait on a lock
or on the disk (a write, BEGIN IMMEDIATE, the COMMIT of a change) still goes to the thread,
so the event loop never waits for another writer or for an fsync, and it never runs a read
for longer than the budget.

Used through ``create_async_engine(..., module=one_trip_dbapi())`` (engines.make_engine), with
``check_same_thread=False``: the event loop's thread uses the connection too, never while its
own thread does (the adapter's mutex, and a count of the jobs sent there).
"""

from __future__ import annotations

import collections
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# What one trip brings back: description, rows, rowcount, lastrowid.
Outcome = tuple[Any, list[Any], int, int | None]

# A statement run in place may take INLINE_SECONDS, checked every INLINE_STEPS virtual-machine
# steps, before it is handed to the thread. (Time, not steps: one step of a full-text index
# can be a long walk in C.) What it spent in place is lost: a statement known to be long is
# marked (engines.long_read) and goes to the thread at once, and one that outgrew the budget goes
# there for its next OUTGROWN_RUNS runs, then is tried in place again (the data may shrink).
# 2 ms, as long as a page's rendering holds the loop: at 0.5 ms a member's home feed (0.4-0.6
# ms on the demo site) was cut short half the time and run twice.
INLINE_SECONDS = 0.002
INLINE_STEPS = 200
OUTGROWN_RUNS = 100
_outgrown: dict[str, int] = {}  # statement -> runs left that go to the thread at once
_OUTGROWN_KEPT = 1_000


class _Interrupted(Exception):
    """The statement outgrew its budget in place, or would have waited for a lock."""

    def __init__(self, out_of_time: bool) -> None:
        super().__init__()
        self.out_of_time = out_of_time


def _outgrew_lately(operation: str) -> bool:
    """Whether ``operation`` outgrew the budget lately: counts one of its runs down."""
    left = _outgrown.get(operation)
    if left is None:
        return False
    if left <= 1:
        del _outgrown[operation]
    else:
        _outgrown[operation] = left - 1
    return True


def _outgrew(operation: str) -> None:
    if len(_outgrown) >= _OUTGROWN_KEPT:
        _outgrown.clear()
    _outgrown[operation] = OUTGROWN_RUNS


_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def _runs_in_place(operation: str) -> bool:
    head = operation[:8].upper()
    return head.startswith("SELECT") or head == "BEGIN"


def _execute(connection: sqlite3.Connection, operation: str, parameters: Any) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _executemany(connection: sqlite3.Connection, operation: str, parameters: Sequence[Any]) -> Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, parameters)
        return cursor.description, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs, and whose rows arrive, in one trip to the thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount", "in_thread")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:  # no trip to make one
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self.in_thread = False  # set for a statement known to be long (engines.long_read)

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        parameters = () if parameters is None else parameters
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        try:
            if not self.in_thread and _runs_in_place(operation) and adapted.idle() and not _outgrew_lately(operation):
                try:
                    # Through await_ all the same (a coroutine that never suspends: no trip),
                    # as SQLAlchemy's async connection checks that its statements awaited.
                    return await_(self._in_place(adapted, operation, parameters))
                except _Interrupted as interruption:
                    if interruption.out_of_time:
                        _outgrew(operation)
            else:
                adapted.in_place_only = False
            return await_(self._trip(_execute, operation, parameters))
        except Exception as error:
            adapted._handle_exception(error)

    async def _in_place(self, adapted: OneTripConnection, operation: str, parameters: Any) -> None:
        self._keep(adapted.in_place(_execute, operation, parameters))

    def _keep(self, outcome: Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._adapt_connection.in_place_only = False  # type: ignore[attr-defined]
        try:
            return await_(self._trip(_executemany, operation, seq_of_parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _trip(self, function: Callable[..., Outcome], operation: str, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        async with adapted._execute_mutex:
            # The sqlite3 connection is read in the thread: it exists once connected.
            job = adapted.counted(lambda: function(connection._conn, operation, parameters))
            outcome = await connection._execute(job)  # type: ignore[no-untyped-call]  # aiosqlite's private, unannotated
        self._keep(outcome)

    async def _async_soft_close(self) -> None:
        pass  # the sqlite3 cursor was closed in the thread

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection, with what running in place needs: how many jobs are in the
    thread now, and whether the transaction so far ran in place and changed nothing."""

    __slots__ = ("busy_timeout_ms", "changes_at_begin", "in_place_only", "jobs_in_thread")
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.jobs_in_thread = 0
        self.in_place_only = False
        self.changes_at_begin = -1
        self.busy_timeout_ms: int | None = None

    def idle(self) -> bool:
        """Nothing runs on the connection now, in its thread or through the adapter."""
        return self.jobs_in_thread == 0 and not self._execute_mutex.locked()

    def counted(self, job: Callable[[], Any]) -> Callable[[], Any]:
        """``job``, counted while it is queued or running in the thread (a cancelled wait leaves
        it running there: the connection is not used in place until it is over)."""
        self.jobs_in_thread += 1

        def run() -> Any:
            try:
                return job()
            finally:
                self.jobs_in_thread -= 1

        return run

    def in_place(self, function: Callable[..., Outcome], operation: str, parameters: Any) -> Outcome:
        connection: sqlite3.Connection = self._connection._conn
        deadline = time.perf_counter() + INLINE_SECONDS
        out_of_time = False

        def budget() -> bool:
            nonlocal out_of_time
            out_of_time = time.perf_counter() > deadline
            return out_of_time

        if self.busy_timeout_ms is None:
            self.busy_timeout_ms = connection.execute("PRAGMA busy_timeout").fetchone()[0]
        # Never wait for a lock here (a reader in WAL mode all but never meets one): busy at
        # once, and the statement goes to the thread, which waits as long as the setting says.
        connection.execute("PRAGMA busy_timeout=0")
        connection.set_progress_handler(budget, INLINE_STEPS)
        try:
            outcome = function(connection, operation, parameters)
        except sqlite3.OperationalError as error:
            if out_of_time or (error.sqlite_errorcode & 0xFF) in _BUSY:
                raise _Interrupted(out_of_time) from error
            raise
        finally:
            connection.set_progress_handler(None, 0)
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
        if operation[:5].upper() == "BEGIN":
            self.in_place_only = True
            self.changes_at_begin = connection.total_changes
        return outcome

    def _ends_in_place(self) -> bool:
        """There is no transaction (the pool's reset of a connection given back), or it ran in
        place and changed nothing: ending it waits for nothing."""
        connection = self._connection._connection
        if connection is None or not self.idle():
            return False
        if not connection.in_transaction:
            return True
        return self.in_place_only and connection.total_changes == self.changes_at_begin

    def commit(self) -> None:
        if not self._ended_in_place(sqlite3.Connection.commit):
            super().commit()

    def rollback(self) -> None:
        if not self._ended_in_place(sqlite3.Connection.rollback):
            super().rollback()

    def _ended_in_place(self, end: Callable[[sqlite3.Connection], None]) -> bool:
        in_place = self._ends_in_place()
        self.in_place_only = False
        if in_place:
            try:
                end(self._connection._conn)
            except Exception as error:
                self._handle_exception(error)
        return in_place


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        kw["check_same_thread"] = False  # the event loop's thread runs statements in place too
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True  # as SQLAlchemy's adapter does
        return OneTripConnection(self, await_(connection))


def one_trip_dbapi() -> OneTripDBAPI:
    return OneTripDBAPI(aiosqlite, sqlite3)
