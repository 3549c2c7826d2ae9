"""The database engine a test runs on: SQLite by default, PostgreSQL when
``HYPERPICS_TEST_DATABASE_URL`` names a server (``postgresql+asyncpg://user@host:port/postgres``).

Each test gets a database of its own: a copy of one migrated SQLite file, or a PostgreSQL
database made from one migrated template (``CREATE DATABASE … TEMPLATE``) and dropped after
the test. Tests read and write rows through :class:`TestDatabase` with ``?`` placeholders,
and read the schema (tables, columns, indexes, foreign keys) through it too, whatever the
engine, so the same assertions run on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from hyperpics.infra import migrations

ENV_URL = "HYPERPICS_TEST_DATABASE_URL"

T = TypeVar("T")


def engine_under_test() -> str:
    url = os.environ.get(ENV_URL, "")
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _to_numbered(sql: str) -> str:
    """``?`` placeholders (outside quotes) as asyncpg's ``$1, $2 …``."""
    numbers = itertools.count(1)
    out: list[str] = []
    quote = ""
    for char in sql:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append(f"${next(numbers)}")
            continue
        out.append(char)
    return "".join(out)


class _Loop:
    """One asyncio loop in a thread of its own, for asyncpg calls made from sync test code
    (and from inside a running test loop, which cannot be re-entered)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-db-loop", daemon=True)
        self.thread.start()

    def run(self, make: Callable[[], Awaitable[T]], timeout: float = 120) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(_await(make), self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


async def _await[T](make: Callable[[], Awaitable[T]]) -> T:
    return await make()


async def _new_lock() -> asyncio.Lock:
    return asyncio.Lock()


@dataclass(frozen=True)
class IndexInfo:
    """One index as the catalogue has it; ``None`` stands for an expression column."""

    name: str
    table: str
    columns: tuple[str | None, ...]
    unique: bool


@dataclass(frozen=True)
class ForeignKeyInfo:
    """One foreign key: ``table(columns)`` refers to ``referred_table``."""

    table: str
    columns: tuple[str, ...]
    referred_table: str


class TestDatabase:
    """One database of one test: its URL, and plain SQL against it."""

    __test__ = False  # not a test class, whatever its name

    engine: str
    url: str

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def execute(self, sql: str, *params: Any) -> None:
        raise NotImplementedError

    def value(self, sql: str, *params: Any) -> Any:
        found = self.rows(sql, *params)
        return found[0][0] if found else None

    # Per engine: the tables of the schema, and (table, column) in column order.
    TABLES_SQL: str
    COLUMNS_SQL: str

    def tables(self) -> set[str]:
        return {row[0] for row in self.rows(self.TABLES_SQL)}

    def columns(self) -> dict[str, list[str]]:
        """Every table's columns, in their order."""
        return _by_table(self.rows(self.COLUMNS_SQL))

    def indexes(self) -> list[IndexInfo]:
        """Every index, those behind primary keys and unique constraints included."""
        raise NotImplementedError

    def foreign_keys(self) -> list[ForeignKeyInfo]:
        raise NotImplementedError

    def moment(self, when: datetime) -> Any:
        """``when`` as a parameter compared with a UTC datetime column: SQLite keeps the
        naive UTC text SQLAlchemy writes, PostgreSQL a ``timestamptz``."""
        return when.astimezone(UTC)

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        """Queries on one connection, in one read transaction (a consistent snapshot, and one
        connection rather than one per table)."""
        yield self.rows

    def snapshot(self, *, without: Collection[str] = ()) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table (search indexes aside), for "nothing changed" checks;
        columns named in ``without`` (random file names, hashes) are left out."""
        with self._reader() as read:
            tables = sorted(row[0] for row in read(self.TABLES_SQL))
            columns = _by_table(read(self.COLUMNS_SQL)) if without else {}
            out: dict[str, list[tuple[Any, ...]]] = {}
            for table in tables:
                if "_fts" in table or table.startswith("search_"):
                    continue
                what = ", ".join(f'"{c}"' for c in columns[table] if c not in without) if without else "*"
                out[table] = sorted(read(f'SELECT {what} FROM "{table}"'), key=repr)
            return out


def _by_table(pairs: Sequence[tuple[Any, ...]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table, column in pairs:
        out.setdefault(table, []).append(column)
    return out


class SqliteDatabase(TestDatabase):
    engine = "sqlite"
    TABLES_SQL = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    COLUMNS_SQL = (
        "SELECT m.name, c.name FROM sqlite_master m JOIN pragma_table_info(m.name) c "
        "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, c.cid"
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self._connect() as connection:
            return [tuple(row) for row in connection.execute(sql, params).fetchall()]

    def execute(self, sql: str, *params: Any) -> None:
        connection = self._connect()
        try:
            with connection:
                connection.execute(sql, params)
        finally:
            connection.close()

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        with contextlib.closing(self._connect()) as connection:
            connection.execute("BEGIN")
            yield lambda sql: [tuple(row) for row in connection.execute(sql).fetchall()]

    def indexes(self) -> list[IndexInfo]:
        out: list[IndexInfo] = []
        for table in sorted(self.tables()):
            for _, name, unique, *_ in self.rows(f'PRAGMA index_list("{table}")'):
                columns = self.rows(f'PRAGMA index_info("{name}")')  # (seqno, cid, name); name None: an expression
                out.append(IndexInfo(name, table, tuple(row[2] for row in sorted(columns)), bool(unique)))
        return out

    def foreign_keys(self) -> list[ForeignKeyInfo]:
        out: list[ForeignKeyInfo] = []
        for table in sorted(self.tables()):
            keys: dict[int, list[tuple[int, str, str]]] = {}
            # (id, seq, table, from, to, on_update, on_delete, match): one row per column of key ``id``
            for key_id, seq, referred, column, *_ in self.rows(f'PRAGMA foreign_key_list("{table}")'):
                keys.setdefault(key_id, []).append((seq, column, referred))
            for parts in keys.values():
                parts.sort()
                out.append(ForeignKeyInfo(table, tuple(column for _, column, _ in parts), parts[0][2]))
        return out

    def moment(self, when: datetime) -> Any:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class PostgresDatabase(TestDatabase):
    engine = "postgresql"
    TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    COLUMNS_SQL = (
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    )

    def __init__(self, server: PostgresServer, name: str) -> None:
        self.server = server
        self.name = name
        self.url = server.url_of(name)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        async def fetch() -> list[tuple[Any, ...]]:
            connection = await self.server.connect(self.name)
            try:
                return [tuple(row) for row in await connection.fetch(_to_numbered(sql), *params)]
            finally:
                await connection.close()

        return self.server.loop.run(fetch)

    def execute(self, sql: str, *params: Any) -> None:
        async def run() -> None:
            connection = await self.server.connect(self.name)
            try:
                await connection.execute(_to_numbered(sql), *params)
            finally:
                await connection.close()

        self.server.loop.run(run)

    @contextlib.contextmanager
    def _reader(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        run = self.server.loop.run
        connection = run(lambda: self.server.connect(self.name))
        try:
            run(lambda: connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            yield lambda sql: [tuple(row) for row in run(lambda: connection.fetch(sql))]
        finally:
            run(connection.close)

    def indexes(self) -> list[IndexInfo]:
        rows = self.rows(
            "SELECT i.relname, t.relname, x.indisunique, "
            "  array(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, n) "
            "        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "  # 0: an expression
            "        WHERE k.n <= x.indnkeyatts ORDER BY k.n) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = 'public' ORDER BY t.relname, i.relname"
        )
        return [IndexInfo(name, table, tuple(columns), unique) for name, table, unique, columns in rows]

    def foreign_keys(self) -> list[ForeignKeyInfo]:
        rows = self.rows(
            "SELECT t.relname, r.relname, "
            "  array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
            "        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n) "
            "FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid "
            "JOIN pg_namespace s ON s.oid = t.relnamespace WHERE c.contype = 'f' AND s.nspname = 'public' "
            "ORDER BY t.relname, c.conname"
        )
        return [ForeignKeyInfo(table, tuple(columns), referred) for table, referred, columns in rows]


class DatabaseServer:
    """Hands out fresh databases for tests; ``migrated`` ones start at the head revision."""

    engine: str

    def fresh(self, directory: Path, *, migrated: bool = True) -> TestDatabase:
        raise NotImplementedError

    def drop(self, database: TestDatabase) -> None:
        pass

    def clone(self, database: TestDatabase, directory: Path) -> TestDatabase:
        """A copy of ``database`` (nobody may be connected to it), for a test that writes
        to data a whole module reads."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteServer(DatabaseServer):
    engine = "sqlite"

    def __init__(self, scratch: Path) -> None:
        self.template = scratch / "template.db"
        migrations.upgrade(f"sqlite+aiosqlite:///{self.template}")

    def fresh(self, directory: Path, *, migrated: bool = True) -> TestDatabase:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "hyperpics.db"
        if migrated:
            shutil.copy(self.template, path)
        return SqliteDatabase(path)

    def drop(self, database: TestDatabase) -> None:
        assert isinstance(database, SqliteDatabase)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database.path}{suffix}").unlink(missing_ok=True)

    def clone(self, database: TestDatabase, directory: Path) -> TestDatabase:
        assert isinstance(database, SqliteDatabase)
        copy = self.fresh(directory, migrated=False)
        assert isinstance(copy, SqliteDatabase)
        # The backup API: whatever still sits in the source's WAL comes along.
        with (
            contextlib.closing(sqlite3.connect(database.path)) as source,
            contextlib.closing(sqlite3.connect(copy.path)) as target,
        ):
            source.backup(target)
        return copy


class PostgresServer(DatabaseServer):
    """A PostgreSQL server the test run may create and drop databases on."""

    engine = "postgresql"

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.base = make_url(url)
        self.loop = _Loop()
        self._admin_connections: dict[str, Any] = {}
        self._pending_drops: list[Future[None]] = []
        self._drops_in_order = self.loop.run(_new_lock)
        # PostgreSQL 15 copies a template through the WAL by default: three times slower
        # than copying its files, for the small databases of tests.
        version = int(self._admin_value("SHOW server_version_num"))
        self._copy_files = " STRATEGY FILE_COPY" if version >= 150000 else ""
        self.prefix = f"hp_test_{os.getpid()}"
        self.template_name = f"{self.prefix}_template"
        self.counter = itertools.count(1)
        self._admin_sql(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')
        self._admin_sql(f'CREATE DATABASE "{self.template_name}"')
        migrations.upgrade(self.url_of(self.template_name))

    def url_of(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    async def connect(self, name: str):  # type: ignore[no-untyped-def]
        import asyncpg

        return await asyncpg.connect(
            host=self.base.host or "127.0.0.1",
            port=self.base.port or 5432,
            user=self.base.username,
            password=self.base.password,
            database=name,
        )

    async def _admin(self, which: str):  # type: ignore[no-untyped-def]
        """One connection to the maintenance database per use, kept open for the run."""
        connection = self._admin_connections.get(which)
        if connection is None or connection.is_closed():
            connection = await self.connect(self.base.database or "postgres")
            self._admin_connections[which] = connection
        return connection

    def _admin_sql(self, *statements: str, which: str = "create") -> None:
        async def run() -> None:
            connection = await self._admin(which)
            for statement in statements:
                await connection.execute(statement)

        self.loop.run(run)

    def _admin_value(self, sql: str) -> Any:
        async def run() -> Any:
            return await (await self._admin("create")).fetchval(sql)

        return self.loop.run(run)

    def fresh(self, directory: Path, *, migrated: bool = True) -> TestDatabase:
        name = f"{self.prefix}_{next(self.counter)}"
        template = f'"{self.template_name}"' if migrated else "template0"
        self._admin_sql(f'CREATE DATABASE "{name}" TEMPLATE {template}{self._copy_files}')
        return PostgresDatabase(self, name)

    def drop(self, database: TestDatabase) -> None:
        """Dropped on the side while the next test runs (its own connection, in order)."""
        assert isinstance(database, PostgresDatabase)
        statement = f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'

        async def run() -> None:
            async with self._drops_in_order:
                await (await self._admin("drop")).execute(statement)

        self._pending_drops.append(asyncio.run_coroutine_threadsafe(run(), self.loop.loop))
        self._pending_drops = [drop for drop in self._pending_drops if not drop.done()]

    def clone(self, database: TestDatabase, directory: Path) -> TestDatabase:
        assert isinstance(database, PostgresDatabase)
        name = f"{self.prefix}_{next(self.counter)}"
        self._admin_sql(f'CREATE DATABASE "{name}" TEMPLATE "{database.name}"{self._copy_files}')
        return PostgresDatabase(self, name)

    def close(self) -> None:
        for pending in self._pending_drops:
            pending.result(120)
        self._admin_sql(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)')

        async def disconnect() -> None:
            for connection in self._admin_connections.values():
                await connection.close()

        self.loop.run(disconnect)
        self.loop.close()


def database_server(scratch: Path) -> DatabaseServer:
    url = os.environ.get(ENV_URL, "")
    if url.startswith("postgresql"):
        return PostgresServer(url)
    return SqliteServer(scratch)


def only_on(engine: str) -> Sequence[Any]:
    """A skip mark for tests about one engine's own SQL (``pytestmark = only_on("sqlite")``)."""
    import pytest

    return [pytest.mark.skipif(engine_under_test() != engine, reason=f"about {engine} only")]
