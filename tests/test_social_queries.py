"""SQL statements per social page: a small constant, whatever the number of rows shown."""

from __future__ import annotations

import secrets

import pytest

from hyperpics.models import Visibility

from .conftest import Tab, make_user
from .factories import add_collects, add_comment, add_follows, add_members, add_photo, add_photos
from .helpers import counting, user_ids


async def add_people(app, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` strangers with a bio and a place: everything a person's line can show."""
    names = [f"u{secrets.token_hex(6)}" for _ in range(count)]
    return await add_members(app, names, bio="a bio", location="somewhere")


# --- what grows on each page --------------------------------------------------------------


async def grow_photos(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """bruno's photos, each collected and commented by someone else."""
    photos = await add_photos(app, ids["bruno"], count)
    await add_collects(app, *((ids["ana"], p) for p in photos))
    for photo in photos:
        await add_comment(app, ids["ana"], photo, "nice")


async def grow_collections(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """Photos by several people (some for followers only), collected by bruno."""
    authors = await add_people(app, 2)
    photos = []
    for index in range(count):
        visibility = Visibility.FOLLOWERS if index % 3 == 0 else Visibility.PUBLIC
        photos += await add_photos(app, authors[index % 2] if index % 4 else ids["ana"], 1, visibility=visibility)
    await add_collects(app, *((ids["bruno"], p, i) for i, p in enumerate(photos)))
    await add_follows(app, (ids["ana"], authors[0]))


async def _people_ana_knows(app, ids, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` people: ana follows every second one, every third one follows her."""
    people = await add_people(app, count)
    await add_follows(app, *((ids["ana"], p) for p in people[::2]), *((p, ids["ana"]) for p in people[::3]))
    return people


async def grow_followers(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """People following bruno; ana follows some of them and some follow her."""
    people = await _people_ana_knows(app, ids, count)
    await add_follows(app, *((p, ids["bruno"], i) for i, p in enumerate(people)))


async def grow_following(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    people = await _people_ana_knows(app, ids, count)
    await add_follows(app, *((ids["bruno"], p, i) for i, p in enumerate(people)))


async def grow_comments(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    """Comments (every third a reply) by different people on bruno's photo."""
    previous = None
    for index, person in enumerate(await add_people(app, count)):
        reply_to = previous if index % 3 == 2 else None
        previous = await add_comment(app, person, ids["photo"], f"comment {index}", reply_to, minutes_ago=60 - index)


async def grow_collectors(app, ids, count: int) -> None:  # type: ignore[no-untyped-def]
    people = await add_people(app, count)
    await add_collects(app, *((p, ids["photo"], i) for i, p in enumerate(people)))
    await add_follows(app, *((ids["ana"], p) for p in people[::2]))


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
    ids = await user_ids(app)
    ids["photo"] = await add_photo(app, "bruno")
    await add_follows(app, ("ana", "bruno"))
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
