"""Engine, sessions and the per-request unit of work.

One ``AsyncSession`` per request, opened lazily, committed once at the edge (after the
view returned a non-error response) and rolled back otherwise. Work that must happen only
once the data is durable (mail, broadcasts) registers with :func:`after_commit`.

SQLite: the driver's own transaction handling is switched off and we emit ``BEGIN``
ourselves: ``BEGIN IMMEDIATE`` for sessions of requests that may write, so concurrent
read-modify-write cycles serialise on the write lock instead of losing updates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from quart import Quart
    from quart.ctx import _AppCtxGlobals

WRITE_OPTION = "hyperpics_write"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _install_sqlite_hooks(sync_engine: Engine) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite/aiosqlite from issuing its own deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        writing = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_pre_ping=False)
        _install_sqlite_hooks(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine plus two session factories: one for readers, one for writers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        writer_engine = self.engine.execution_options(**{WRITE_OPTION: True})
        self.reader = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self.writer = async_sessionmaker(writer_engine, expire_on_commit=False, autoflush=True)

    def session(self, *, write: bool) -> AsyncSession:
        return (self.writer if write else self.reader)()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _request_globals() -> _AppCtxGlobals:
    """Quart's ``g``, imported when first needed: the seed and its workers use the engine
    without the web framework."""
    from quart import g

    return g  # type: ignore[return-value]


def database(app: Quart | None = None) -> Database:
    from quart import current_app

    return (app or current_app).extensions["hyperpics_db"]


async def session() -> AsyncSession:
    """The request's session, opened on first use."""
    existing: AsyncSession | None = _request_globals().get("_db_session")
    if existing is None:
        from quart import request

        existing = database().session(write=request.method not in SAFE_METHODS)
        _request_globals()._db_session = existing
    return existing


def after_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the request's transaction has committed (never on rollback)."""
    _request_globals().setdefault("_after_commit", []).append(callback)


CommitHook = Callable[[dict[str, Any]], Awaitable[None]]


def on_commit(app: Quart, hook: CommitHook) -> None:
    """Call ``hook(info)`` after every request commit; ``info`` is what the session collected."""
    app.extensions.setdefault("hyperpics_commit_hooks", []).append(hook)


async def commit() -> None:
    """Commit the request's work now and run its after-commit callbacks.

    Views call this only when they must act on durable data before answering (sending a
    mail the user is told about); otherwise the edge commits once after the view.
    """
    from quart import current_app

    current: AsyncSession | None = _request_globals().get("_db_session")
    info: dict[str, Any] = {}
    if current is not None:
        await current.commit()
        info = dict(current.info)
        current.info.clear()
    for hook in current_app.extensions.get("hyperpics_commit_hooks", []):
        await hook(info)
    callbacks = _request_globals().pop("_after_commit", [])
    for callback in callbacks:
        await callback()


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


def init_app(app: Quart) -> None:
    db = Database(app.config["DATABASE_URL"])
    app.extensions["hyperpics_db"] = db

    @app.after_request
    async def _commit_at_the_edge(response):  # type: ignore[no-untyped-def]
        if response.status_code < 400:
            await commit()
        else:
            await rollback()
        return response

    @app.teardown_request
    async def _close_session(_exc: BaseException | None) -> None:
        await close()

    @app.after_serving
    async def _dispose() -> None:
        await db.dispose()
