"""The unit of work: a reader that writes takes the lock only then, holds it for the write
alone (never across slow work or rendering), commits at the edge, rolls back errors, loses
no concurrent update on either engine, and answers 409/503 instead of 500 when the database
says a write collided or waited too long."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Blueprint, abort
from sqlalchemy import select, text

from hyperpics import create_app
from hyperpics.infra import db, engines, passwords
from hyperpics.infra.engines import is_write_statement
from hyperpics.models import Tag, utcnow
from hyperpics.web import responses
from hyperpics.web.auth import public
from hyperpics.web.templating import render_template

from .conftest import Tab
from .databases import TestDatabase
from .factories import add_photo, add_tags


def _writing_blueprint() -> Blueprint:
    bp = Blueprint("writing", __name__)

    @bp.route("/_test/tag/<name>", methods=["POST"])
    @public
    async def add_tag(name: str) -> tuple[str, int]:
        session = await db.session()
        session.add(Tag(name=name, created_at=utcnow()))
        await session.flush()
        if name == "explode":
            raise RuntimeError("after the write")
        if name == "refuse":
            abort(409)
        if name == "then-hash":
            await passwords.hash_password("slow work after a write")
        if name == "then-render":
            return await render_template("partials/flashes.html", messages=[]), 201
        return "ok", 201

    @bp.route("/_test/rename/<name>", methods=["POST"])
    @public
    async def rename(name: str):  # type: ignore[no-untyped-def]
        """Reads, then writes the first tag (the read happens before the write lock)."""
        session = await db.session()
        tag = (await session.execute(select(Tag).order_by(Tag.id))).scalars().first()
        assert tag is not None
        tag.name = name
        await session.flush()
        return await responses.page("errors/error.html", 200, code=200, title="renamed", message=name)

    return bp


@pytest.fixture
async def writing_app(app_config, tmp_path) -> AsyncIterator:  # type: ignore[no-untyped-def]
    application = create_app({**app_config, "DB_LOCK_TIMEOUT": 0.3}, instance_path=tmp_path / "instance")
    application.register_blueprint(_writing_blueprint())
    async with application.test_app():
        yield application


def tags(database: TestDatabase) -> list[str]:
    return [row[0] for row in database.rows("SELECT name FROM tags ORDER BY name")]


async def test_success_commits_errors_roll_back(writing_app, database: TestDatabase) -> None:
    tab = Tab(writing_app)
    assert (await tab.post("/_test/tag/sunset")).status == 201
    assert (await tab.post("/_test/tag/explode")).status == 500
    assert (await tab.post("/_test/tag/refuse")).status == 409
    assert tags(database) == ["sunset"]


async def test_slow_work_inside_a_write_transaction_is_refused(writing_app, database: TestDatabase) -> None:
    """STRICT_TRANSACTIONS (on in tests): hashing after a write fails the request, and the
    write goes with it; every upload, login and sign-up test runs under the same rule."""
    page = await Tab(writing_app).post("/_test/tag/then-hash")
    assert page.status == 500
    assert tags(database) == []


async def test_rendering_inside_a_write_transaction_is_refused(writing_app, database: TestDatabase) -> None:
    """A view that renders by hand after writing (not through responses, which commit first)."""
    page = await Tab(writing_app).post("/_test/tag/then-render")
    assert page.status == 500
    assert tags(database) == []


async def test_a_unique_collision_is_a_409_with_a_message(writing_app, database: TestDatabase) -> None:
    tab = Tab(writing_app)
    assert (await tab.post("/_test/tag/sunset")).status == 201
    page = await tab.post("/_test/tag/sunset", htmx=True)
    assert page.status == 409
    assert "Someone else changed this at the same moment" in page.text
    assert page.headers["HX-Retarget"] == "#flashes"
    assert tags(database) == ["sunset"]


async def test_a_reader_whose_snapshot_is_old_still_writes(writing_app, database: TestDatabase) -> None:
    """A request reads, another one commits, then the first writes: on SQLite the read
    transaction is ended and the write lock taken anew (no SQLITE_BUSY_SNAPSHOT)."""
    await add_tags(writing_app, "first")
    async with database_session(writing_app) as reader:
        await reader.execute(select(Tag))  # the snapshot is taken
        await add_tags(writing_app, "second")
        reader.add(Tag(name="third", created_at=utcnow()))
        await reader.commit()
    assert tags(database) == ["first", "second", "third"]


async def test_rendering_happens_after_the_commit(writing_app, database: TestDatabase) -> None:
    """The page is rendered once the write is committed (the strict rule would fail it
    otherwise), and what it wrote is there."""
    await add_tags(writing_app, "old")
    page = await Tab(writing_app).post("/_test/rename/new")
    assert page.status == 200 and "new" in page.text
    assert tags(database) == ["new"]


async def test_a_writer_that_cannot_get_the_lock_in_time_gets_503(writing_app, database: TestDatabase) -> None:
    """Someone holds the lock the request needs past DB_LOCK_TIMEOUT (0.3 s here)."""
    await add_tags(writing_app, "held")
    async with holding_the_lock_on_tags(writing_app):
        page = await Tab(writing_app).post("/_test/rename/taken")
    assert page.status == 503
    assert page.headers["Retry-After"].isdigit()
    assert "very busy" in page.text
    assert tags(database) == ["held"]


async def test_concurrent_read_modify_write_loses_nothing(app, database: TestDatabase) -> None:
    """20 concurrent increments through db.lock end at 20 on both engines (a plain read,
    then a write, ends at 1: SQLite with a deferred BEGIN, PostgreSQL at READ COMMITTED)."""
    await add_tags(app, "0")

    async def increment() -> None:
        async with db.database(app).session(write=False) as session:
            [tag] = await db.lock(session, Tag)
            await asyncio.sleep(0)  # let the others interleave between read and write
            tag.name = str(int(tag.name) + 1)
            await session.commit()

    await asyncio.gather(*(increment() for _ in range(20)))
    assert tags(database) == ["20"]


async def test_readers_do_not_block_a_writer(app, database: TestDatabase) -> None:
    async with db.database(app).session(write=False) as reader:
        await reader.execute(select(Tag))
        async with db.database(app).session(write=True) as writer:
            writer.add(Tag(name="while-reading", created_at=utcnow()))
            await asyncio.wait_for(writer.commit(), timeout=30)  # a hang, not a speed check
    assert tags(database) == ["while-reading"]


def test_write_statements_are_recognised() -> None:
    for statement in (
        "INSERT INTO tags (name) VALUES (?)",
        "  update users SET name = ?",
        "DELETE FROM tags WHERE id = ?",
        "SAVEPOINT sa_savepoint_1",
        "WITH doomed AS (SELECT id FROM tags) DELETE FROM tags WHERE id IN (SELECT id FROM doomed)",
        "SELECT users.id FROM users WHERE users.id = $1 FOR UPDATE OF users",
        "SELECT tags.id FROM tags FOR KEY SHARE",
    ):
        assert is_write_statement(statement), statement
    for statement in (
        "SELECT users.updated_at FROM users",
        "WITH RECURSIVE thread(id) AS (SELECT id FROM comments) SELECT id FROM thread",
        "BEGIN",
        "PRAGMA busy_timeout=5000",
    ):
        assert not is_write_statement(statement), statement


def test_only_one_function_leaves_the_event_loop() -> None:
    """Every thread the app starts goes through cpu.run, which hands the request's connection
    back first (the seed and the media backfill run outside requests and keep their own pools)."""
    package = Path(db.__file__).resolve().parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"\b(?:to_thread|run_in_executor|Thread|\w*PoolExecutor)\(", path.read_text())
        and path.name != "cpu.py"
        and path.name != "backfill.py"  # a command, outside requests: its own pool, like the seed
        and "seed" not in path.parts
    ]
    assert offenders == []


# --- helpers ------------------------------------------------------------------------------


def database_session(app):  # type: ignore[no-untyped-def]
    return db.database(app).session(write=False)


@contextlib.asynccontextmanager
async def holding_the_lock_on_tags(app) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    """Another connection holds the lock a writer of tags needs: SQLite's write lock, or the
    tag rows' locks on PostgreSQL, until the block ends."""
    async with db.database(app).engine.connect() as connection:
        await connection.execute(select(Tag.id).with_for_update())
        if connection.dialect.name == "sqlite":
            await connection.execute(text("UPDATE tags SET name = name"))  # takes the write lock
        try:
            yield
        finally:
            await connection.rollback()


async def test_small_writes_read_their_answer_outside_the_write_transaction(
    app, tab: Tab, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    """On SQLite the follow, collect and comment components let the next writer in as soon as
    their rows are written (db.end_writes): the queries that build the answer run in a read
    transaction. Under mixed load, each statement left under the lock cost a trip round the
    event loop, and writers queued behind them."""
    from sqlalchemy import event

    from .conftest import make_user
    from .helpers import user_ids

    await make_user(app, tab, "ana")
    await make_user(app, Tab(app), "bob")
    photo = await add_photo(app, "bob")
    seen: list[tuple[str, str | None]] = []

    def record(conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append((statement.lstrip().split()[0].upper(), conn.info.get(engines.TXN_KEY)))

    engine = db.database(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        target = (await user_ids(app))["bob"]
        for url, form in (
            (f"/_/users/{target}/follow", None),
            (f"/_/photos/{photo}/collect", None),
            (f"/_/photos/{photo}/comments", {"body": "hello"}),
        ):
            seen.clear()
            page = await tab.post(url, form, htmx=True)
            assert page.status == 200, page.text
            last_write = max(i for i, (verb, _) in enumerate(seen) if verb == "INSERT")
            after = [state for verb, state in seen[last_write + 1 :] if verb == "SELECT"]
            assert after, url  # the answer reads something
            expected = db.READ if database.engine == "sqlite" else db.WRITE  # PostgreSQL commits at the edge
            assert set(after) == {expected}, (url, seen)
    finally:
        event.remove(engine, "before_cursor_execute", record)
