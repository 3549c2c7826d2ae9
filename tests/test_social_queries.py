"""SQL statements per social page: a small constant, whatever the number of rows shown."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from hyperpics.db import database
from hyperpics.models import Collect, Comment, Follow, RoleName, User, Visibility, utcnow
from hyperpics.services.accounts import role_named

from . import builders
from .conftest import Tab, make_user
from .helpers import counting


async def add_photos(app, author_id: int, count: int, visibility: Visibility = Visibility.PUBLIC) -> list[int]:  # type: ignore[no-untyped-def]
    """Rows only (pages never open the files)."""
    return await builders.add_photos(app, author_id, count, visibility=visibility)


async def add_people(app, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=True) as session:
        role = await role_named(session, RoleName.USER)
        people = []
        for _ in range(count):
            name = "u" + secrets.token_hex(6)
            people.append(
                User(username=name, email=f"{name}@example.com", name=name.title(), password_hash="!", role=role,
                     confirmed=True, bio="a bio", location="somewhere", member_since=utcnow())
            )
        session.add_all(people)
        await session.flush()
        ids = [person.id for person in people]
        await session.commit()
        return ids


async def add_rows(app, rows: list) -> None:  # type: ignore[no-untyped-def,type-arg]
    async with database(app).session(write=True) as session:
        session.add_all(rows)
        await session.commit()


def _later(step: int):  # type: ignore[no-untyped-def]
    return utcnow() - timedelta(hours=1) + timedelta(seconds=step)


# --- what grows on each page --------------------------------------------------------------


async def grow_photos(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """bruno's photos, each collected and commented by someone else."""
    photos = await add_photos(app, ids["bruno"], count)
    await add_rows(app, [Collect(user_id=ids["ana"], photo_id=p, created_at=utcnow()) for p in photos]
                   + [Comment(photo_id=p, author_id=ids["ana"], body="nice", created_at=utcnow()) for p in photos])


async def grow_collections(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """Photos by several people (some for followers only), collected by bruno."""
    authors = await add_people(app, 2)
    photos = []
    for index in range(count):
        visibility = Visibility.FOLLOWERS if index % 3 == 0 else Visibility.PUBLIC
        photos += await add_photos(app, authors[index % 2] if index % 4 else ids["ana"], 1, visibility)
    await add_rows(app, [Collect(user_id=ids["bruno"], photo_id=p, created_at=_later(i)) for i, p in enumerate(photos)]
                   + [Follow(follower_id=ids["ana"], followed_id=authors[0], created_at=utcnow())])


async def grow_followers(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """People following bruno; ana follows some of them and some follow her."""
    people = await add_people(app, count)
    rows: list = [Follow(follower_id=p, followed_id=ids["bruno"], created_at=_later(i)) for i, p in enumerate(people)]  # type: ignore[type-arg]
    rows += [Follow(follower_id=ids["ana"], followed_id=p, created_at=utcnow()) for p in people[::2]]
    rows += [Follow(follower_id=p, followed_id=ids["ana"], created_at=utcnow()) for p in people[::3]]
    await add_rows(app, rows)


async def grow_following(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    people = await add_people(app, count)
    rows: list = [Follow(follower_id=ids["bruno"], followed_id=p, created_at=_later(i)) for i, p in enumerate(people)]  # type: ignore[type-arg]
    rows += [Follow(follower_id=ids["ana"], followed_id=p, created_at=utcnow()) for p in people[::2]]
    rows += [Follow(follower_id=p, followed_id=ids["ana"], created_at=utcnow()) for p in people[::3]]
    await add_rows(app, rows)


async def grow_comments(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """Comments (every third a reply) by different people on bruno's photo."""
    people = await add_people(app, count)
    async with database(app).session(write=True) as session:
        previous = None
        for index, person in enumerate(people):
            comment = Comment(
                photo_id=ids["photo"], author_id=person, body=f"comment {index}",
                reply_to_id=previous if index % 3 == 2 else None, created_at=_later(index),
            )
            session.add(comment)
            await session.flush()
            previous = comment.id
        await session.commit()


async def grow_collectors(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    people = await add_people(app, count)
    rows: list = [Collect(user_id=p, photo_id=ids["photo"], created_at=_later(i)) for i, p in enumerate(people)]  # type: ignore[type-arg]
    rows += [Follow(follower_id=ids["ana"], followed_id=p, created_at=utcnow()) for p in people[::2]]
    await add_rows(app, rows)


async def grow_card(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    await grow_photos(app, ids, count)
    await grow_followers(app, ids, count)


# page name: (path, grow, few rows, many rows, at most this many statements for a logged-in viewer)
PAGES = {
    "photos tab": ("/user/bruno", grow_photos, 2, 12, 4),
    "collections tab": ("/user/bruno/collections", grow_collections, 2, 12, 4),
    "followers tab": ("/user/bruno/followers", grow_followers, 2, 20, 5),
    "following tab": ("/user/bruno/following", grow_following, 2, 20, 5),
    "photo with comments": ("/photo/{photo}", grow_comments, 5, 15, 5),
    "collectors": ("/photo/{photo}/collectors", grow_collectors, 2, 20, 5),
    "user card": ("/_/users/{bruno}/card", grow_card, 2, 20, 3),
}


def forget_cached_cards(app, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """The server keeps rendered user cards a short while: measure the real work, not a hit
    (the rows grown here were written around the app, so no version changed)."""
    app.extensions.pop("hyperpics_card_cache", None)


async def statements_for(app, tab: Tab, path: str, htmx: bool = False) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with counting(app) as statements:
        page = await tab.get(path, htmx=htmx)
    assert page.status == 200, (path, page.status)
    return len(statements), page.text


@pytest.mark.parametrize("viewer", ["ana", "anonymous"])
@pytest.mark.parametrize("name", list(PAGES))
async def test_statements_do_not_grow_with_the_page(app, name: str, viewer: str) -> None:
    path, grow, few_rows, many_rows, bound = PAGES[name]
    ana = Tab(app)
    await make_user(app, ana, "ana")
    await make_user(app, Tab(app), "bruno")
    async with database(app).session(write=False) as session:
        ids = {u.username: u.id for u in (await session.execute(select(User))).scalars()}
    ids["photo"] = (await add_photos(app, ids["bruno"], 1))[0]
    await add_rows(app, [Follow(follower_id=ids["ana"], followed_id=ids["bruno"], created_at=utcnow())])
    tab = ana if viewer == "ana" else Tab(app)
    url = path.format(photo=ids["photo"], bruno=ids["bruno"])

    await grow(app, ids, few_rows)
    await tab.get(url)  # warm up (a first request may load things once)
    forget_cached_cards(app, ids["bruno"])
    few, few_text = await statements_for(app, tab, url)
    await grow(app, ids, many_rows - few_rows)
    forget_cached_cards(app, ids["bruno"])
    many, many_text = await statements_for(app, tab, url)
    forget_cached_cards(app, ids["bruno"])
    fragment, _ = await statements_for(app, tab, url, htmx=True)
    print(f"\n{name} as {viewer}: {few} statements with {few_rows} rows, {many} with {many_rows}, {fragment} as htmx")

    # The pages really show more rows the second time.
    assert len(many_text) > len(few_text), name
    assert many == few, f"{url}: {few} statements with {few_rows} rows, {many} with {many_rows}"
    assert fragment <= many
    # Anonymous visitors skip the "who is asking" query.
    limit = bound if viewer == "ana" else bound - 1
    assert many <= limit, f"{url} ran {many} statements (at most {limit} expected)"
