"""The unit of work: one session per request, committed at the edge, rolled back on error;
SQLite writers serialise instead of losing updates."""

from __future__ import annotations

import asyncio

import pytest
from quart import Blueprint, abort
from sqlalchemy import select

from hyperpics import create_app, db
from hyperpics.auth import public
from hyperpics.db import database
from hyperpics.models import Tag, utcnow

from .conftest import Tab


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
        return "ok", 201

    return bp


@pytest.fixture
async def writing_app(app_config, tmp_path):  # type: ignore[no-untyped-def]
    application = create_app(app_config, instance_path=tmp_path / "instance")
    application.register_blueprint(_writing_blueprint())
    async with application.test_app():
        yield application


async def _tags(app) -> list[str]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list((await session.execute(select(Tag.name).order_by(Tag.name))).scalars())


async def test_success_commits_errors_roll_back(writing_app) -> None:
    tab = Tab(writing_app)
    assert (await tab.post("/_test/tag/sunset")).status == 201
    assert (await tab.post("/_test/tag/explode")).status == 500
    assert (await tab.post("/_test/tag/refuse")).status == 409
    assert await _tags(writing_app) == ["sunset"]


async def test_concurrent_read_modify_write_loses_nothing(app) -> None:
    """20 concurrent increments end at 20 (with deferred BEGIN on SQLite they did not)."""
    async with database(app).session(write=True) as session:
        session.add(Tag(name="0", created_at=utcnow()))
        await session.commit()

    async def increment() -> None:
        async with database(app).session(write=True) as session:
            tag = (await session.execute(select(Tag))).scalar_one()
            await asyncio.sleep(0)  # let the others interleave between read and write
            tag.name = str(int(tag.name) + 1)
            await session.commit()

    await asyncio.gather(*(increment() for _ in range(20)))
    assert await _tags(app) == ["20"]


async def test_readers_do_not_take_the_write_lock(app) -> None:
    """A long read does not block a writer (WAL + deferred BEGIN for readers)."""
    async with database(app).session(write=False) as reader:
        await reader.execute(select(Tag))
        async with database(app).session(write=True) as writer:
            writer.add(Tag(name="while-reading", created_at=utcnow()))
            await asyncio.wait_for(writer.commit(), timeout=2)
    assert await _tags(app) == ["while-reading"]
