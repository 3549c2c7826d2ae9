"""SQL statements per page: a constant, whatever the number of photos on the page."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from hyperpics.db import database
from hyperpics.models import Collect, Comment, Follow, Photo, Tag, User, Visibility, utcnow

from .conftest import Tab, make_user
from .helpers import counting


async def add_photos(app, author: str, count: int, tag_name: str = "sea") -> list[int]:  # type: ignore[no-untyped-def]
    """Rows only (pages never open the files): tagged, collected and commented."""
    async with database(app).session(write=True) as session:
        user = (await session.execute(select(User).where(User.username == author))).scalar_one()
        tag = (await session.execute(select(Tag).where(Tag.name == tag_name))).scalar_one_or_none()
        if tag is None:
            tag = Tag(name=tag_name, created_at=utcnow())
            session.add(tag)
        ids = []
        for index in range(count):
            stem = secrets.token_urlsafe(16)
            photo = Photo(
                author_id=user.id,
                filename_original=f"{stem}.jpg",
                filename_medium=f"{stem}_m.jpg",
                filename_small=f"{stem}_s.jpg",
                width=1200,
                height=800,
                description=f"photo {index}",
                visibility=Visibility.PUBLIC,
                created_at=utcnow(),
            )
            photo.tags = [tag]
            session.add(photo)
            await session.flush()
            session.add(Collect(user_id=user.id, photo_id=photo.id, created_at=utcnow()))
            session.add(Comment(photo_id=photo.id, author_id=user.id, body="nice", created_at=utcnow()))
            ids.append(photo.id)
        await session.commit()
        return ids


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
    async with database(app).session(write=True) as session:
        ids = {u.username: u.id for u in (await session.execute(select(User))).scalars()}
        session.add(Follow(follower_id=ids["ana"], followed_id=ids["bruno"], created_at=utcnow()))
        await session.commit()

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
    from hyperpics.models import Notification, NotificationKind

    async with database(app).session(write=True) as session:
        for photo_id in photos:
            session.add(Notification(kind=NotificationKind.COLLECT, receiver_id=receiver, actor_id=actor, photo_id=photo_id))
        session.add(Notification(kind=NotificationKind.FOLLOW, receiver_id=receiver, actor_id=actor))
        await session.commit()


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
