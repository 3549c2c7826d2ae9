"""The engines the app reads and writes through, and the hooks that give each connection its
transaction rules: a reader's deferred BEGIN, a writer's turn in the FIFO queue and its
write lock (SQLite), the tables each commit wrote (for the page cache), and the refusal of
a write in a read-only session. :class:`Database` holds an engine and its session makers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.util import await_only

if TYPE_CHECKING:
    pass

from .db_errors import WriteLockTimeout, WriteOnSafeMethod

log = logging.getLogger("hyperpics.db")


E = TypeVar("E", bound=Executable)

WRITE_OPTION = "hyperpics_write"

# The state of a connection's current transaction, kept in its ``info``.
TXN_KEY = "hyperpics_txn"
READ, WRITE = "read", "write"
WRITE_STARTED_KEY = "hyperpics_write_started"
QUEUE_INFO_KEY = "hyperpics_writer_queue"  # the engine's queue, for the hooks
QUEUED_KEY = "hyperpics_queued"  # set while this connection's writer has its turn
# Set on the sessions of GET and HEAD requests: their first write raises WriteOnSafeMethod.
READ_ONLY_OPTION = "hyperpics_read_only"
# A read known to take a while: SQLite's adapter sends it to its thread at once (sqlite_driver).
LONG_READ_OPTION = "hyperpics_long_read"
# A write transaction held (or a lock waited for) longer than this is logged.
SLOW_WRITE_SECONDS = 0.5
# Where a session keeps the ``info`` of its transaction's connection.
CONNECTION_INFO_KEY = "hyperpics_connection_info"
# The tables a transaction wrote to (its connection's ``info``); "*" when a statement's table
# could not be told. Once committed they join the pool's set in COMMITTED_TABLES.
WRITTEN_TABLES_KEY = "hyperpics_written_tables"

# How long a writer waits for SQLite's write lock, or a PostgreSQL row lock, before the
# request answers 503 (DB_LOCK_TIMEOUT overrides it).
LOCK_TIMEOUT_SECONDS = 5.0

_WRITE_KEYWORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER")
_CHANGES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")  # statements that change rows
_WRITE_IN_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")
_ROW_LOCK = re.compile(r"\bFOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)\b")
_WRITTEN_TABLE = re.compile(r'\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)


def is_write_statement(statement: str) -> bool:
    head = statement.lstrip()[:10].upper()
    if head.startswith(_WRITE_KEYWORDS):
        return True
    if head.startswith("WITH"):
        return bool(_WRITE_IN_CTE.search(statement))
    return head.startswith("SELECT") and bool(_ROW_LOCK.search(statement))


class unindexed(GenericFunction[Any]):  # noqa: N801 (used like a SQL function)
    """A column SQLite must not look up through an index: ``+column`` there (its documented
    way to keep a term out of index choice), the plain column elsewhere. For a filter that
    would make SQLite walk a big index (all public photos) where another access (the ids, in
    order) reaches the few rows wanted after a few steps."""

    inherit_cache = True


@compiles(unindexed)
def _unindexed(element: unindexed, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: Any, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


# --- engines ------------------------------------------------------------------------------


class WriterQueue:
    """SQLite's writers of this process, served one at a time in the order they came.

    SQLite's own wait for its write lock is a busy handler that sleeps and retries: the lock
    goes to whichever waiter wakes up first (not the one that waited longest) and lies idle
    while they sleep, so under load some writers starve past any timeout. Writers of this
    process queue here instead (FIFO, no thread blocked) and reach SQLite one by one; other
    processes (a command, a second worker) still meet busy_timeout.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock: asyncio.Lock | None = None

    def enter(self, info: dict[str, Any]) -> None:
        """Wait for our turn (called on the sync side of SQLAlchemy's greenlet bridge)."""
        if info.get(QUEUED_KEY):
            return
        self._lock = self._lock or asyncio.Lock()
        try:
            await_only(asyncio.wait_for(self._lock.acquire(), self.timeout))
        except TimeoutError as error:
            raise WriteLockTimeout(error) from None
        info[QUEUED_KEY] = self

    @staticmethod
    def leave(info: dict[str, Any]) -> None:
        queue: WriterQueue | None = info.pop(QUEUED_KEY, None)
        if queue is not None and queue._lock is not None and queue._lock.locked():
            queue._lock.release()


# What every commit through an engine (its pool: the option engines share it) wrote to, requests
# and everything else alike, until someone takes it (Database.take_committed_tables).
COMMITTED_TABLES: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def _install_transaction_hooks(sync_engine: Engine, queue: WriterQueue | None) -> None:
    """Both engines: note whether the current transaction has written (or locked) yet, and
    on SQLite emit the BEGIN and take the write lock at the first write."""

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writing = bool(conn.get_execution_options().get(WRITE_OPTION))
        conn.info[TXN_KEY] = READ
        conn.info[QUEUE_INFO_KEY] = queue
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        if writing:
            start_write(conn)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _at_first_write(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(TXN_KEY) == READ and is_write_statement(statement):
            start_write(conn)
        if conn.info.get(TXN_KEY) == WRITE and statement.lstrip()[:7].upper().startswith(_CHANGES):
            found = _WRITTEN_TABLE.match(statement)
            conn.info.setdefault(WRITTEN_TABLES_KEY, set()).add(found.group(1).lower() if found else "*")

    committed = COMMITTED_TABLES.setdefault(sync_engine.pool, set())

    @event.listens_for(sync_engine, "commit")
    def _at_commit(conn: Connection) -> None:
        if conn.invalidated:
            return
        committed.update(conn.info.pop(WRITTEN_TABLES_KEY, ()))
        finish_write(conn.info)

    @event.listens_for(sync_engine, "rollback")
    def _at_the_end(conn: Connection) -> None:
        if conn.invalidated:  # cancelled mid-statement (a client gone): nothing to report, and
            return  # its info is out of reach; the pool's invalidate hook ends its turn
        finish_write(conn.info)
        conn.info.pop(WRITTEN_TABLES_KEY, None)

    # The queue's turn ends when the connection goes back to the pool, after its COMMIT ran
    # (the commit event comes before it), or when it is invalidated after an error.
    @event.listens_for(sync_engine.pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            WriterQueue.leave(record.info)

    @event.listens_for(sync_engine.pool, "invalidate")
    @event.listens_for(sync_engine.pool, "soft_invalidate")
    def _invalidated(_dbapi_connection: Any, record: Any, _exception: Any) -> None:
        WriterQueue.leave(record.info)


SQLITE_MMAP_BYTES = 1 << 30


def _install_sqlite_pragmas(sync_engine: Engine, lock_timeout: float) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite/aiosqlite from issuing its own deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Read the file through a memory map (its first SQLITE_MMAP_BYTES): a page the OS
        # holds costs no read() call, and every connection of every worker shares the OS's
        # copy. At 100,000 photos a member's home page cost half as much again without it.
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
        cursor.close()


def long_read[E: Executable](statement: E) -> E:
    """``statement``, marked as one that takes a while (a full-text search): on SQLite it goes
    to the connection's thread at once rather than being tried in place first (sqlite_driver)."""
    return statement.execution_options(**{LONG_READ_OPTION: True})


def _send_long_reads_to_the_thread(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "before_cursor_execute")
    def _mark(_conn: Connection, cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool) -> None:
        if context is not None and context.execution_options.get(LONG_READ_OPTION):
            cursor.in_thread = True


def start_write(conn: Connection) -> None:
    """Make the connection's read transaction a writing one."""
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        raise WriteOnSafeMethod("a safe request (GET, HEAD) tried to write")
    waited_from = time.monotonic()
    if conn.dialect.name == "sqlite":
        queue: WriterQueue | None = conn.info.get(QUEUE_INFO_KEY)
        if queue is not None:
            queue.enter(conn.info)
        try:
            _take_sqlite_write_lock(conn)
        except BaseException:
            WriterQueue.leave(conn.info)
            raise
    conn.info[TXN_KEY] = WRITE
    conn.info[WRITE_STARTED_KEY] = time.monotonic()
    waited = conn.info[WRITE_STARTED_KEY] - waited_from
    if waited > SLOW_WRITE_SECONDS:
        log.warning("waited %.0f ms for the write lock", 1000 * waited)


def finish_write(info: dict[str, Any]) -> None:
    """Say so when a write transaction held its locks long: other writers waited for it."""
    started = info.pop(WRITE_STARTED_KEY, None)
    if started is not None and (held := time.monotonic() - started) > SLOW_WRITE_SECONDS:
        log.warning("a write transaction held its locks for %.0f ms", 1000 * held)


def _take_sqlite_write_lock(conn: Connection) -> None:
    """End the read transaction, then wait for the write lock in a new one.

    One trip to the driver's thread for both: ``executescript`` commits a pending
    transaction before it runs its script (sqlite3's legacy transaction control, which the
    driver keeps) and nothing was written, so the COMMIT only drops the read snapshot.
    """
    driver = conn.connection.driver_connection  # aiosqlite's connection
    try:
        await_only(driver.executescript("BEGIN IMMEDIATE"))  # type: ignore[union-attr]
    except Exception as error:
        if "locked" in str(error) or "busy" in str(error):
            raise WriteLockTimeout(error) from error
        raise


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 10,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> AsyncEngine:
    queue: WriterQueue | None = None
    if url.startswith("sqlite"):
        from .sqlite_driver import one_trip_dbapi

        engine = create_async_engine(
            url,
            module=one_trip_dbapi(),  # one trip to the connection's thread per statement, not four
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_pre_ping=False,
        )
        _install_sqlite_pragmas(engine.sync_engine, lock_timeout)
        _send_long_reads_to_the_thread(engine.sync_engine)
        queue = WriterQueue(lock_timeout)
    else:
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            pool_pre_ping=True,
            connect_args={
                "server_settings": {
                    # Times are stored and compared in UTC whatever the server's own zone is.
                    "timezone": "UTC",
                    "lock_timeout": f"{int(lock_timeout * 1000)}ms",
                    "application_name": "hyperpics",
                }
            },
        )
    _install_transaction_hooks(engine.sync_engine, queue)
    return engine


@event.listens_for(Session, "after_begin")
def _track_connection_of_transaction(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    session.info[CONNECTION_INFO_KEY] = connection.info


@event.listens_for(Session, "after_transaction_end")
def _forget_connection_of_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(CONNECTION_INFO_KEY, None)


class Database:
    """The engine plus two session factories: one for readers, one for writers.

    A reader session still writes when asked to (it takes the write lock at that moment);
    a writer session takes it at its first statement (background work, commands).
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 10,
        lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self.engine = make_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout, lock_timeout=lock_timeout
        )
        writer_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self.reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self.writer = async_sessionmaker(writer_engine, expire_on_commit=False, autoflush=True)
        read_only_engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        self.read_only = async_sessionmaker(read_only_engine, expire_on_commit=False, autoflush=True)

    def take_committed_tables(self) -> set[str]:
        """The tables written by the commits since the last call (any session of this engine)."""
        committed = COMMITTED_TABLES.get(self.engine.sync_engine.pool)
        if not committed:
            return set()
        taken = set(committed)
        committed.difference_update(taken)
        return taken

    def session(self, *, write: bool = False, read_only: bool = False) -> AsyncSession:
        if read_only:
            return self.read_only()
        return (self.writer if write else self.reader)()

    async def dispose(self) -> None:
        await self.engine.dispose()
