"""A client that goes away in the middle of a request is ordinary: the server says nothing
about it in its error log. Once, each such request logged CancelledError with a full
traceback from the connection pool (134 times in one benchmark run)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from quart import Blueprint, Quart
from sqlalchemy import text

from hyperpics.infra import db
from hyperpics.web.auth import public

from .conftest import Tab

HANG_GUARD = 30.0
SLOW_QUERY = {
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT count(*) FROM c"
    ),
    "postgresql": "SELECT pg_sleep(5)",
}


@pytest.fixture
def slow_app(app: Quart) -> Quart:
    probe = Blueprint("slow_probe", __name__)

    @probe.route("/_probe/slow")
    @public
    async def slow() -> str:
        session = await db.session()
        await session.execute(text(SLOW_QUERY[session.get_bind().dialect.name]))
        return "done"

    app.register_blueprint(probe)
    return app


async def test_a_client_gone_mid_query_logs_no_error(slow_app: Quart, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    await Tab(slow_app).get("/")  # the app has started: what follows is the disconnect alone
    async with slow_app.test_client().request("/_probe/slow") as connection:
        await connection.send_complete()
        await asyncio.sleep(0.3)  # the query is running
        await connection.disconnect()
    # The pool gets its connection back (or discards it) without a word at WARNING or above.
    for _ in range(int(HANG_GUARD / 0.1)):
        if db.database(slow_app).engine.pool.checkedout() == 0:
            break
        await asyncio.sleep(0.1)
    assert db.database(slow_app).engine.pool.checkedout() == 0
    noisy = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert noisy == []
    # And the next request is served as usual.
    assert (await Tab(slow_app).get("/")).status == 200
