"""SQL statements per page: a constant, whatever the number of photos on the page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import NotificationKind, Tag

from . import factories
from .conftest import Tab, make_user
from .factories import add_collects, add_comment, add_follows, add_notification
from .helpers import counting


async def add_photos(app, author: str, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Photos tagged "sea", each collected and commented by its author: every part of a card."""
    photos = await factories.add_photos(app, author, count, tags=["sea"])
    await add_collects(app, *((author, photo) for photo in photos))
    for photo in photos:
        await add_comment(app, author, photo, "nice")
    return photos


async def statements_for(app, tab: Tab, path: str) -> int:  # type: ignore[no-untyped-def]
    with counting(app) as statements:
        page = await tab.get(path)
    assert page.status == 200, (path, page.status)
    return len(statements)


PAGES = ["/", "/explore", "/user/ana", "/tag/{tag}", "/tag/{tag}/by_collects", "/photo/{photo}"]


@pytest.mark.parametrize("path", PAGES)
async def test_statements_do_not_grow_with_the_page(app, tab: Tab, path: str) -> None:
    await make_user(app, tab, "ana")
    other = Tab(app)
    await make_user(app, other, "bruno")
    await add_follows(app, ("ana", "bruno"))

    first = await add_photos(app, "ana", 2)
    await add_photos(app, "bruno", 1)
    async with database(app).session(write=False) as session:
        tag_id = (await session.execute(select(Tag.id))).scalar_one()
    url = path.format(tag=tag_id, photo=first[0])
    few = await statements_for(app, tab, url)

    await add_photos(app, "ana", 10)
    await add_photos(app, "bruno", 10)
    many = await statements_for(app, tab, url)
    assert many == few, f"{url}: {few} statements with 3 photos, {many} with 23"
    # Who is asking (1) + the page's queries: small, fixed numbers.
    assert many <= 5, f"{url} ran {many} statements"


async def test_anonymous_landing_is_cheap(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await add_photos(app, "ana", 15)
    anonymous = Tab(app)
    assert await statements_for(app, anonymous, "/") == 2  # hot tags + recent photos


async def _notify(app, receiver: int, actor: int, photos: list[int]) -> None:  # type: ignore[no-untyped-def]
    for photo_id in photos:
        await add_notification(app, NotificationKind.COLLECT, receiver, actor, photo=photo_id)
    await add_notification(app, NotificationKind.FOLLOW, receiver, actor)


async def test_the_notifications_page_runs_three_statements_however_many_it_lists(app, tab: Tab) -> None:
    """Who is asking, the two counts, and the lines with their people, photos, comments and
    whether each photo is still in sight: one statement each, whatever the page holds."""
    from .helpers import user_ids

    await make_user(app, tab, "ana")
    await make_user(app, Tab(app), "bruno")
    ids = await user_ids(app)
    await _notify(app, ids["ana"], ids["bruno"], await add_photos(app, "ana", 1))
    few = await statements_for(app, tab, "/notifications")
    await _notify(app, ids["ana"], ids["bruno"], await add_photos(app, "ana", 12))
    many = await statements_for(app, tab, "/notifications")
    assert few == many == 3
