"""Engine, sessions and the per-request unit of work.

One ``AsyncSession`` per request, opened lazily. It starts as a *reader* and becomes a
*writer* at its first write statement; from then until it commits it holds the write lock
(SQLite) or the locks of the rows it wrote (PostgreSQL). So that no other writer waits
long, that write phase only ever holds database work:

- slow work happens before it: the body is read by the CSRF check, before the view; Pillow
  and argon2 (:mod:`cpu`) and mail call :func:`before_slow_work`, which hands the
  connection back to the pool, and refuses (``STRICT_TRANSACTIONS``, on in tests) or logs
  when the request is already writing;
- rendering happens after it: :mod:`responses` commits (or, for an error answer, rolls back)
  before rendering, and the edge commits whatever is left once the view returned.

A rule that reads and then writes (the last administrator, a member's state, a photo's
tags, a mailed link) reads the rows it will change through :func:`lock`: ``FOR UPDATE`` on
PostgreSQL; on SQLite the write lock is taken first, which serialises every writer, and the
rows are read fresh under it. Unique races are settled by the unique indexes (a savepoint
around the insert). Whatever still collides surfaces as a 409, a lock that cannot be had in
time as a 503 with ``Retry-After`` (:func:`classify`), never as a 500.

SQLite: the driver's own transaction handling is off and we emit ``BEGIN`` ourselves, a
deferred one for a reader. At the first write of a reader, its read transaction is ended
and ``BEGIN IMMEDIATE`` takes the write lock: upgrading the read transaction in place
would fail with SQLITE_BUSY_SNAPSHOT whenever another writer committed since its first
read. The writers of one process take turns in a FIFO queue (:class:`WriterQueue`) before
they ask SQLite; other processes meet ``busy_timeout``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from sqlalchemy import ColumnElement, event, exc, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.base import Executable, ExecutableOption
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.util import await_only

if TYPE_CHECKING:
    from quart import Quart, Response
    from quart.ctx import _AppCtxGlobals

log = logging.getLogger("hyperpics.db")

M = TypeVar("M")
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
# could not be told. Once committed they join the pool's set in _COMMITTED_TABLES.
WRITTEN_TABLES_KEY = "hyperpics_written_tables"

# How long a writer waits for SQLite's write lock, or a PostgreSQL row lock, before the
# request answers 503 (DB_LOCK_TIMEOUT overrides it).
LOCK_TIMEOUT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 2

_WRITE_KEYWORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT", "CREATE", "DROP", "ALTER")
_CHANGES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")  # statements that change rows
_WRITE_IN_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")
_ROW_LOCK = re.compile(r"\bFOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)\b")
_WRITTEN_TABLE = re.compile(r'\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.I)


class WriteLockTimeout(exc.OperationalError):
    """SQLite's write lock (or this process's turn to ask for it) did not come in time."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("BEGIN IMMEDIATE", None, error)


class TransactionPolicyError(RuntimeError):
    """Slow work or rendering inside a write transaction (raised with STRICT_TRANSACTIONS)."""


class WriteOnSafeMethod(RuntimeError):
    """A GET or HEAD request tried to write or lock: safe methods never change state, so the
    statement is refused before it runs, whatever the view meant to do."""


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
_COMMITTED_TABLES: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


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
            _begin_write(conn)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _at_first_write(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(TXN_KEY) == READ and is_write_statement(statement):
            _begin_write(conn)
        if conn.info.get(TXN_KEY) == WRITE and statement.lstrip()[:7].upper().startswith(_CHANGES):
            found = _WRITTEN_TABLE.match(statement)
            conn.info.setdefault(WRITTEN_TABLES_KEY, set()).add(found.group(1).lower() if found else "*")

    committed = _COMMITTED_TABLES.setdefault(sync_engine.pool, set())

    @event.listens_for(sync_engine, "commit")
    def _at_commit(conn: Connection) -> None:
        if conn.invalidated:
            return
        committed.update(conn.info.pop(WRITTEN_TABLES_KEY, ()))
        _end_write(conn.info)

    @event.listens_for(sync_engine, "rollback")
    def _at_the_end(conn: Connection) -> None:
        if conn.invalidated:  # cancelled mid-statement (a client gone): nothing to report, and
            return  # its info is out of reach; the pool's invalidate hook ends its turn
        _end_write(conn.info)
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


def _begin_write(conn: Connection) -> None:
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


def _end_write(info: dict[str, Any]) -> None:
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
        committed = _COMMITTED_TABLES.get(self.engine.sync_engine.pool)
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


# --- transactions ---------------------------------------------------------------------------


def is_writing(session: AsyncSession) -> bool:
    """Whether ``session``'s transaction has written or locked something."""
    connection_info = session.info.get(CONNECTION_INFO_KEY)
    return connection_info is not None and connection_info.get(TXN_KEY) == WRITE


def _begin_write_if_reading(conn: Connection) -> None:
    if conn.info.get(TXN_KEY) == READ:
        _begin_write(conn)


async def begin_write(session: AsyncSession) -> None:
    """From here on this transaction writes: take the write lock now (SQLite), so that the
    reads that follow see the newest data and no other writer changes it until the commit."""
    connection = await session.connection()
    await connection.run_sync(_begin_write_if_reading)


async def lock[M](
    session: AsyncSession,
    entity: type[M],
    *conditions: ColumnElement[bool],
    key_share: bool = False,
    load: Sequence[ExecutableOption] = (),
) -> list[M]:
    """Lock the rows of ``entity`` that a rule is about to change, then read them fresh.

    Two statements. The first locks, by primary key in id order (everyone locks in the same
    order: no deadlocks), selecting from that one table alone: PostgreSQL re-checks a row it
    waited for against a query's joins with the *old* joined rows, so a locking query that
    joins (a user's role, say) can drop the very row that changed. The second reads the
    locked rows with the latest committed values (``load``: the loader options it needs).

    PostgreSQL: ``FOR UPDATE``, or ``FOR KEY SHARE`` with ``key_share`` (the row must go on
    existing, as a foreign key needs it to). SQLite has no row locks: the database's write
    lock is taken first instead, which serialises every writer.
    """
    await begin_write(session)
    primary_key = entity.id  # type: ignore[attr-defined]
    locking = (
        select(primary_key)
        .where(*conditions)
        .order_by(primary_key)
        .with_for_update(read=key_share, key_share=key_share)
    )
    ids = list((await session.execute(locking)).scalars())
    if not ids:
        return []
    fresh = select(entity).where(primary_key.in_(ids)).order_by(primary_key).options(*load)
    return list((await session.execute(fresh.execution_options(populate_existing=True))).unique().scalars())


async def lock_one[M](
    session: AsyncSession, entity: type[M], *conditions: ColumnElement[bool], load: Sequence[ExecutableOption] = ()
) -> M | None:
    """:func:`lock` for one row (None: it is not there, or no longer)."""
    found = await lock(session, entity, *conditions, load=load)
    return found[0] if found else None


def insert_unless_present(session: AsyncSession, model: type[Any], **values: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING`` for ``model``: a row that is already there (a
    double click, two tabs) is left alone in one statement, without a savepoint. Executed,
    its ``rowcount`` says whether the row is new."""
    from sqlalchemy.dialects import postgresql, sqlite

    assert session.bind is not None  # a session of Database.session: always bound
    dialect = session.bind.dialect.name
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    return insert(model).values(**values).on_conflict_do_nothing()


Problem = Literal["conflict", "busy"]

# PostgreSQL: lock_timeout, deadlock, serialization failure.
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})


def classify(error: BaseException) -> Problem | None:
    """What a database error means for the person who asked: someone else changed the same
    thing at the same moment ("conflict", 409), or the database could not be had in time
    ("busy", 503 with Retry-After). None: a bug, a 500."""
    if isinstance(error, exc.IntegrityError):
        return "conflict"
    if isinstance(error, (exc.TimeoutError, WriteLockTimeout)):  # no connection, or no turn to write, in time
        return "busy"
    if isinstance(error, exc.DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if sqlstate in _BUSY_SQLSTATES:
            return "busy"
        message = str(error.orig).lower()
        if isinstance(error, exc.OperationalError) and (
            "database is locked" in message or "database is busy" in message
        ):
            return "busy"
    return None


# --- the request's session ------------------------------------------------------------------


def _request_globals() -> _AppCtxGlobals:
    """Quart's ``g``, imported when first needed: the seed and its workers use the engine
    without the web framework."""
    from quart import g

    return g


def request_session() -> AsyncSession | None:
    """The request's session if one is open (None outside a request, as in commands)."""
    from quart import has_app_context

    if not has_app_context():
        return None
    return cast("AsyncSession | None", _request_globals().get("_db_session"))


def database(app: Quart | None = None) -> Database:
    from quart import current_app

    return cast(Database, (app or current_app).extensions["hyperpics_db"])


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def session() -> AsyncSession:
    """The request's session, opened on first use (a reader until it first writes). A safe
    request's session can never write: a view that tries gets WriteOnSafeMethod."""
    from quart import has_request_context, request

    existing: AsyncSession | None = _request_globals().get("_db_session")
    if existing is None:
        safe = has_request_context() and request.method in SAFE_METHODS
        existing = database().session(read_only=safe)
        _request_globals()._db_session = existing
    return existing


@asynccontextmanager
async def detached_reads(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A session for reads on ``session``'s own connection and transaction, with an identity
    map of its own: what it loads leaves it at the end, loaded and detached, to be kept and
    shared between requests (page_cache.keep) without ever being one of ``session``'s objects
    (the viewer's own user, say, which the request may change)."""
    reader = AsyncSession(bind=await session.connection())
    try:
        yield reader
    finally:
        await reader.close()


def after_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the request's transaction has committed (never on rollback)."""
    _request_globals().setdefault("_after_commit", []).append(callback)


CommitHook = Callable[[dict[str, Any]], Awaitable[None]]


def on_commit(app: Quart, hook: CommitHook) -> None:
    """Call ``hook(info)`` after every request commit; ``info`` is what the session collected."""
    app.extensions.setdefault("hyperpics_commit_hooks", []).append(hook)


async def commit() -> None:
    """Commit the request's work now and run its after-commit callbacks.

    :mod:`responses` calls this before rendering, and the edge after the view; views call it
    only when they must act on durable data before answering (a mail the user is told about).
    """
    current: AsyncSession | None = _request_globals().get("_db_session")
    if current is not None:
        await current.commit()
    await _after_durable_commit(current)
    if current is not None:
        current.info.clear()


async def end_writes() -> None:
    """The request has written all it will: on SQLite, make that durable and let the next
    writer in now, and go on reading (the queries that build the answer) in a new read
    transaction on the same connection. COMMIT and BEGIN take one trip to the database thread;
    each statement left under the lock cost a trip round the event loop, and under load the
    writers queued behind those trips. PostgreSQL locks rows, not the database: its commit
    stays at the edge."""
    current = request_session()
    if current is None or not is_writing(current) or current.get_bind().dialect.name != "sqlite":
        return
    await current.flush()
    connection = await current.connection()
    await connection.run_sync(_commit_and_read_on)
    await _after_durable_commit(current)
    for key in [key for key in current.info if key != CONNECTION_INFO_KEY]:
        del current.info[key]


def _commit_and_read_on(conn: Connection) -> None:
    driver = conn.connection.driver_connection  # aiosqlite's connection
    # executescript commits the pending (writing) transaction first (sqlite3's legacy
    # transaction control, as _take_sqlite_write_lock relies on), then begins a reading one.
    await_only(driver.executescript("BEGIN"))  # type: ignore[union-attr]
    _COMMITTED_TABLES.setdefault(conn.engine.pool, set()).update(conn.info.pop(WRITTEN_TABLES_KEY, ()))
    _end_write(conn.info)
    conn.info[TXN_KEY] = READ
    WriterQueue.leave(conn.info)


async def _after_durable_commit(current: AsyncSession | None) -> None:
    """Tell who must know (streams, caches, after-commit callbacks) once the request's writes
    are durable."""
    from quart import current_app

    info = {key: value for key, value in (current.info if current else {}).items() if key != CONNECTION_INFO_KEY}
    # What follows a durable commit never turns it into a failure: the caller must not undo
    # work (files, an answer) that the database already holds.
    work: list[Callable[[], Awaitable[None]]] = [
        functools.partial(hook, info) for hook in current_app.extensions.get("hyperpics_commit_hooks", [])
    ]
    work += _request_globals().pop("_after_commit", [])
    for step in work:
        try:
            await step()
        except Exception:
            log.exception("after-commit work failed (the commit stands)")


async def rollback() -> None:
    current: AsyncSession | None = _request_globals().get("_db_session")
    if current is not None:
        await current.rollback()
        current.info.clear()  # nothing happened: nobody is told
    _request_globals().pop("_after_commit", None)


async def close() -> None:
    current: AsyncSession | None = _request_globals().pop("_db_session", None)
    if current is not None:
        await current.close()


def _breach(message: str) -> None:
    from quart import current_app, request

    where = f"{request.method} {request.path}"
    if current_app.config.get("STRICT_TRANSACTIONS"):
        raise TransactionPolicyError(f"{message} ({where})")
    log.warning("%s (%s): other writers wait for it", message, where)


async def before_slow_work(what: str) -> None:
    """Called before work that takes a while (hashing, Pillow, mail): hand the request's
    connection back to the pool, ending its read snapshot, so that the slow part holds no
    connection and no lock. Doing it while the request is already writing is a bug."""
    current = request_session()
    if current is None or not current.in_transaction():
        return
    # Several pieces of slow work may start at once (the photos of one upload).
    lock = _request_globals().setdefault("_db_release_lock", asyncio.Lock())
    async with lock:
        if not current.in_transaction():
            return
        if is_writing(current):
            _breach(f"{what} inside a write transaction")
            return
        if current.new or current.dirty or current.deleted:
            return  # changes waiting in memory: nothing is locked until they are flushed
        await current.commit()


async def end_write_phase(status: int) -> None:
    """Before rendering: commit what the request wrote, or roll it back for an error answer,
    so that no lock is held while a template renders."""
    current = request_session()
    if current is None or not is_writing(current):
        return
    if status < 400:
        await commit()
    else:
        # A rollback expires every loaded object, and the page about to render reads them
        # (the viewer in the nav, the photo...): detached first, they keep what they hold.
        current.expunge_all()
        await rollback()


def check_not_writing(what: str) -> None:
    """The rendering guard: ``what`` must not run while this request holds a write transaction."""
    current = request_session()
    if current is not None and is_writing(current):
        _breach(f"{what} inside a write transaction")


# --- the app --------------------------------------------------------------------------------


def init_app(app: Quart) -> None:
    config = app.config
    db = Database(
        config["DATABASE_URL"],
        pool_size=config["DB_POOL_SIZE"],
        max_overflow=config["DB_MAX_OVERFLOW"],
        pool_timeout=config["DB_POOL_TIMEOUT"],
        lock_timeout=config["DB_LOCK_TIMEOUT"],
    )
    app.extensions["hyperpics_db"] = db

    @app.teardown_request
    async def _close_session(_exc: BaseException | None) -> None:
        await close()

    @app.after_serving
    async def _dispose() -> None:
        await db.dispose()


def commit_at_the_edge(app: Quart, on_problem: Callable[[Problem], Awaitable[Response]]) -> None:
    """Commit once the view answered (roll back an error answer). Registered after every
    other ``after_request`` function, so it runs first and the others still see (and add
    their headers to) the answer that replaces a failed commit: ``on_problem`` makes it."""

    @app.after_request
    async def _commit(response: Response) -> Response:
        try:
            if response.status_code < 400:
                await commit()
            else:
                await rollback()
        except Exception as error:
            problem = classify(error)
            if problem is None:
                raise
            log.warning("commit failed (%s): %s", problem, error)
            await rollback()
            return await on_problem(problem)
        return response
