"""Helpers shared by several test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from quart import Quart
from sqlalchemy import event, select

from hyperpics.db import database
from hyperpics.page_cache import page_cache
from hyperpics.models import Photo, User

from .conftest import Tab, make_user

# Who is asking, and the columns that make them so (None: not logged in).
VISITORS: dict[str, dict[str, object] | None] = {
    "anonymous": None,
    "unconfirmed": {"confirmed": False},
    "locked": {"role": "Locked", "locked": True},
    "blocked": {"active": False},
    "user": {},
    "moderator": {"role": "Moderator"},
    "administrator": {"role": "Administrator"},
}


async def visitor(app: Quart, kind: str) -> Tab:
    """A tab for one kind of VISITORS, registered (and logged in) under the kind's name."""
    tab = Tab(app)
    values = VISITORS[kind]
    if values is None:
        return tab
    values = dict(values)
    confirmed = bool(values.pop("confirmed", True))
    await make_user(app, tab, kind, confirmed=confirmed, **values)
    return tab


async def logged_in(app: Quart, *names: str, roles: dict[str, str] | None = None) -> dict[str, Tab]:
    """Members ``names``, each logged in on a tab of their own (``roles``: by name, for the
    few who are not plain members): the cast most social tests start from."""
    tabs: dict[str, Tab] = {}
    for name in names:
        tabs[name] = Tab(app)
        role = (roles or {}).get(name)
        await make_user(app, tabs[name], name, **({"role": role} if role else {}))
    return tabs


async def fetch_photo(app: Quart, photo_id: int) -> Photo:
    """A photo row as the database has it now."""
    async with database(app).session(write=False) as session:
        photo = await session.get(Photo, photo_id)
        assert photo is not None, photo_id
        return photo


async def user_ids(app: Quart) -> dict[str, int]:
    async with database(app).session(write=False) as session:
        return {u.username: u.id for u in (await session.execute(select(User))).scalars()}


def people_on(html: str) -> list[int]:
    """The user ids of a people list, in order."""
    return [int(found) for found in re.findall(r'<li class="person" id="person-(\d+)"', html)]


def text_of(html: str) -> str:
    """What a reader sees: the tags dropped, the spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def near(pixel: tuple, color: tuple, tolerance: int = 45) -> bool:
    """Two colours are the same to the eye (JPEG moves them a little)."""
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], color[:3], strict=True))


@contextmanager
def counting(app: Quart, *, forget_pages: bool = True) -> Iterator[list[str]]:
    """Collect the SQL statements the app's engine runs inside the block (not BEGIN/COMMIT...).

    Pages kept for anonymous visitors are forgotten first: the count is of the page's real
    work, not of a copy served from memory (tests/test_page_cache.py counts those)."""
    statements: list[str] = []
    engine = database(app).engine.sync_engine
    if forget_pages:
        page_cache(app).clear()

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
