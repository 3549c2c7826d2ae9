"""Engine, sessions and the per-request unit of work.

One ``AsyncSession`` per request, opened lazily. It starts as a *reader* and becomes a
*writer* at its first write statement; from then until it commits it holds the write lock
(SQLite) or the locks of the rows it wrote (PostgreSQL). So that no other writer waits
long, that write phase only ever holds database work:

- slow work happens before it: the body is read by the CSRF check, before the view; Pillow
  and argon2 (:mod:`hyperpics.infra.cpu`) and mail call :func:`before_slow_work`, which hands the
  connection back to the pool, and refuses (``STRICT_TRANSACTIONS``, on in tests) or logs
  when the request is already writing;
- rendering happens after it: :mod:`hyperpics.web.responses` commits (or, for an error answer, rolls back)
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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncSession,
)
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.util import await_only

if TYPE_CHECKING:
    from quart import Quart, Response
    from quart.ctx import _AppCtxGlobals

from .db_errors import Problem, TransactionPolicyError, classify
from .engines import (
    COMMITTED_TABLES,
    CONNECTION_INFO_KEY,
    READ,
    TXN_KEY,
    WRITE,
    WRITTEN_TABLES_KEY,
    Database,
    WriterQueue,
    finish_write,
    start_write,
)

log = logging.getLogger("hyperpics.db")

M = TypeVar("M")
# --- transactions ---------------------------------------------------------------------------


def is_writing(session: AsyncSession) -> bool:
    """Whether ``session``'s transaction has written or locked something."""
    connection_info = session.info.get(CONNECTION_INFO_KEY)
    return connection_info is not None and connection_info.get(TXN_KEY) == WRITE


def _begin_write_if_reading(conn: Connection) -> None:
    if conn.info.get(TXN_KEY) == READ:
        start_write(conn)


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

    :mod:`hyperpics.web.responses` calls this before rendering, and the edge after the view; views call it
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
    COMMITTED_TABLES.setdefault(conn.engine.pool, set()).update(conn.info.pop(WRITTEN_TABLES_KEY, ()))
    finish_write(conn.info)
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
