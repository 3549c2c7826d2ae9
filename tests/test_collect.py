"""Collecting photos through HTTP: the self-swapping button with its live count, who may
collect what, the collectors page, a user's collections tab, and private collections."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import Collect, Visibility

from .conftest import Tab, fetch_user, make_user
from .factories import add_collects, add_follows, add_members, add_photo
from .helpers import VISITORS, assert_turned_away, logged_in, people_on, user_ids, visitor
from .html import Element, by_id, element, elements, find_id

MAY_COLLECT = {"locked", "user", "moderator", "administrator"}


# --- helpers ------------------------------------------------------------------------------


async def collect_rows(app) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return {(row.user_id, row.photo_id) for row in (await session.execute(select(Collect))).scalars()}


def cards_on(text: str) -> list[int]:
    return [int(found) for found in re.findall(r'id="photo-card-(\d+)"', text)]


def collectors_count(text: str) -> int:
    """The count the collect area shows ("3 collectors"), checked against its own wording."""
    link = element(text, "a.collect-count")
    count = int(link.select_one("span.count").text)
    assert link.text == f"{count} collector{'' if count == 1 else 's'}", link.text
    return count


def collect_button(text: str, photo: int) -> Element:
    """The collect area's button (a form's, for members)."""
    return by_id(text, f"collect-{photo}").select_one("form button")


@pytest.fixture
async def world(app):  # type: ignore[no-untyped-def]
    """owner (with a public photo), ana and bruno, each logged in in their own tab."""
    tabs = await logged_in(app, "owner", "ana", "bruno")
    return tabs, await user_ids(app), await add_photo(app, "owner")


# --- who may collect ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(VISITORS))
async def test_collect_permission_matrix(app, kind: str) -> None:
    await make_user(app, Tab(app), "owner")
    photo = await add_photo(app, "owner")
    tab = await visitor(app, kind)
    ids = await user_ids(app)
    path = f"/_/photos/{photo}/collect"

    plain = await tab.post(path, {"next": f"/photo/{photo}"})
    if kind in MAY_COLLECT:
        assert plain.status == 303, (kind, plain.status, plain.text)
        assert plain.location == f"/photo/{photo}"
        assert await collect_rows(app) == {(ids[kind], photo)}
        assert (await tab.post(f"/_/photos/{photo}/uncollect", {"next": f"/photo/{photo}"})).status == 303
        assert await collect_rows(app) == set()
        fragment = await tab.post(path, htmx=True)
        assert fragment.status == 200 and fragment.root_id() == f"collect-{photo}" and fragment.is_fragment()
        assert await collect_rows(app) == {(ids[kind], photo)}
        return

    await assert_turned_away(tab, kind, path, plain, from_page=f"/photo/{photo}")
    assert await collect_rows(app) == set()


async def test_anonymous_cannot_uncollect(app, world) -> None:
    tabs, ids, photo = world
    await add_collects(app, *[(ids["ana"], photo, 0)])
    page = await Tab(app).post(f"/_/photos/{photo}/uncollect")
    assert page.status == 302 and page.location == f"/auth/login?next=/_/photos/{photo}/uncollect"
    assert await collect_rows(app) == {(ids["ana"], photo)}


# --- the button ---------------------------------------------------------------------------


async def test_htmx_collect_swaps_the_button_with_the_live_count(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].get(f"/photo/{photo}")
    assert find_id(page.text, f"collect-{photo}") and collectors_count(page.text) == 0

    first = await tabs["ana"].post(f"/_/photos/{photo}/collect", htmx=True)
    assert first.status == 200
    assert first.root_id() == f"collect-{photo}" and first.is_fragment()
    button = collect_button(first.text, photo)
    assert button["aria-pressed"] == "true" and button.text == "Collected"
    assert button.closest("form")["action"] == f"/_/photos/{photo}/uncollect"
    assert collectors_count(first.text) == 1  # "1 collector"

    second = await tabs["bruno"].post(f"/_/photos/{photo}/collect", htmx=True)
    assert collectors_count(second.text) == 2  # "2 collectors"

    undone = await tabs["ana"].post(f"/_/photos/{photo}/uncollect", htmx=True)
    assert undone.status == 200 and undone.root_id() == f"collect-{photo}" and undone.is_fragment()
    button = collect_button(undone.text, photo)
    assert button["aria-pressed"] == "false" and button.text == "Collect"
    assert "Collected" not in undone.text
    assert button.closest("form")["action"] == f"/_/photos/{photo}/collect"
    assert collectors_count(undone.text) == 1
    assert await collect_rows(app) == {(ids["bruno"], photo)}


async def test_plain_post_redirects_to_next_or_the_photo(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].post(f"/_/photos/{photo}/collect", {"next": "/user/owner"})
    assert page.status == 303 and page.location == "/user/owner"
    page = await tabs["ana"].post(f"/_/photos/{photo}/uncollect")
    assert page.status == 303 and page.location == f"/photo/{photo}"
    page = await tabs["ana"].post(f"/_/photos/{photo}/collect", {"next": "//evil.example/x"})
    assert page.status == 303 and page.location == f"/photo/{photo}"
    assert await collect_rows(app) == {(ids["ana"], photo)}
    # The photo page now shows the button pressed.
    shown = await tabs["ana"].get(f"/photo/{photo}")
    assert collect_button(shown.text, photo)["aria-pressed"] == "true" and collectors_count(shown.text) == 1


async def test_collecting_twice_is_harmless(app, world) -> None:
    tabs, ids, photo = world
    assert (await tabs["ana"].post(f"/_/photos/{photo}/collect", htmx=True)).status == 200
    again = await tabs["ana"].post(f"/_/photos/{photo}/collect", htmx=True)
    assert again.status == 200, again.text
    assert collectors_count(again.text) == 1 and collect_button(again.text, photo)["aria-pressed"] == "true"
    plain = await tabs["ana"].post(f"/_/photos/{photo}/collect", {"next": f"/photo/{photo}"})
    assert plain.status == 303
    assert await collect_rows(app) == {(ids["ana"], photo)}


async def test_uncollecting_a_photo_not_collected_is_harmless(app, world) -> None:
    tabs, ids, photo = world
    page = await tabs["ana"].post(f"/_/photos/{photo}/uncollect", htmx=True)
    assert page.status == 200 and collectors_count(page.text) == 0
    assert collect_button(page.text, photo)["aria-pressed"] == "false"


async def test_photos_the_viewer_cannot_see_are_404(app, world) -> None:
    tabs, ids, _ = world
    private = await add_photo(app, "owner", Visibility.PRIVATE)
    for_followers = await add_photo(app, "owner", Visibility.FOLLOWERS)
    for path in (f"/_/photos/{private}/collect", f"/_/photos/{for_followers}/collect", "/_/photos/99999/collect"):
        assert (await tabs["ana"].post(path)).status == 404, path
        assert (await tabs["ana"].post(path, htmx=True)).status == 404, path
    assert (await tabs["ana"].post(f"/_/photos/{private}/uncollect")).status == 404
    assert (await Tab(app).get(f"/photo/{private}/collectors")).status == 404
    assert (await tabs["ana"].get(f"/photo/{private}/collectors")).status == 404
    assert await collect_rows(app) == set()
    # A follower may collect the followers-only photo; the author may collect the private one.
    await add_follows(app, ("ana", "owner"))
    assert (await tabs["ana"].post(f"/_/photos/{for_followers}/collect")).status == 303
    assert (await tabs["owner"].post(f"/_/photos/{private}/collect")).status == 303
    assert await collect_rows(app) == {(ids["ana"], for_followers), (ids["owner"], private)}


# --- collectors and collections -----------------------------------------------------------


async def test_collectors_page_lists_oldest_first(app, world) -> None:
    tabs, ids, photo = world
    # Inserted out of time order: bruno first (minute 30), then ana (10), then owner (20).
    await add_collects(app, *[(ids["bruno"], photo, 30), (ids["ana"], photo, 10), (ids["owner"], photo, 20)])
    page = await Tab(app).get(f"/photo/{photo}/collectors")
    assert page.status == 200 and "<html" in page.text
    assert people_on(page.text) == [ids["ana"], ids["owner"], ids["bruno"]]
    fragment = await tabs["ana"].get(f"/photo/{photo}/collectors", htmx=True)
    assert fragment.status == 200 and fragment.root_id() == "collectors" and fragment.is_fragment()
    assert people_on(fragment.text) == [ids["ana"], ids["owner"], ids["bruno"]]
    # The collect count on the photo page links here.
    shown = await Tab(app).get(f"/photo/{photo}")
    assert (
        element(shown.text, "a.collect-count")["href"] == f"/photo/{photo}/collectors"
        and collectors_count(shown.text) == 3
    )


async def test_collections_tab_lists_newest_collected_first(app, world) -> None:
    tabs, ids, _ = world
    # Photos made oldest first; collected in another order, so the tab must sort by collect time.
    photos = [await add_photo(app, "owner", minutes_ago=60 - index) for index in range(3)]
    await add_collects(app, *[(ids["ana"], photos[0], 50), (ids["ana"], photos[2], 10), (ids["ana"], photos[1], 30)])
    page = await Tab(app).get("/user/ana/collections")
    assert page.status == 200
    assert cards_on(page.text) == [photos[0], photos[1], photos[2]]
    assert element(page.text, 'a[href="/user/ana/collections"]')["aria-current"] == "page"
    fragment = await tabs["bruno"].get("/user/ana/collections", htmx=True)
    assert fragment.root_id() == "profile-tab" and fragment.is_fragment()
    assert cards_on(fragment.text) == [photos[0], photos[1], photos[2]]
    # A photo the viewer cannot see is left out of the tab.
    hidden = await add_photo(app, "owner", Visibility.PRIVATE)
    await add_collects(app, *[(ids["ana"], hidden, 55)])
    assert cards_on((await tabs["bruno"].get("/user/ana/collections")).text) == [photos[0], photos[1], photos[2]]
    assert cards_on((await tabs["owner"].get("/user/ana/collections")).text) == [
        hidden,
        photos[0],
        photos[1],
        photos[2],
    ]


async def test_collections_tab_loads_more_by_collect_time(app, world) -> None:
    tabs, ids, _ = world
    photos = [await add_photo(app, "owner") for _ in range(14)]
    # Collected in reverse photo order: the newest collect is of the oldest photo.
    await add_collects(app, *[(ids["ana"], photo, index) for index, photo in enumerate(reversed(photos))])
    page = await tabs["bruno"].get("/user/ana/collections")
    expected = photos  # the last collected (minute 13) is photos[0]
    assert cards_on(page.text) == expected[:12]
    more = re.search(r'id="load-more" role="button" href="([^"]+)"', page.text)
    assert more, page.text
    rest = await tabs["bruno"].get(more.group(1).replace("&amp;", "&"), htmx=True)
    assert rest.status == 200
    assert cards_on(rest.text) == expected[12:]
    assert find_id(rest.text, "load-more") is None


async def test_private_collections(app, world) -> None:
    tabs, ids, photo = world
    await add_collects(app, *[(ids["ana"], photo, 1), (ids["bruno"], photo, 2)])

    # ana turns public collections off (the checkbox left unticked).
    await tabs["ana"].get("/settings/privacy")
    saved = await tabs["ana"].post("/settings/privacy", {})
    assert saved.status == 303 and saved.location == "/settings/privacy"
    assert (await fetch_user(app, "ana")).public_collections is False

    for name, tab in (("bruno", tabs["bruno"]), ("anonymous", Tab(app)), ("owner", tabs["owner"])):
        page = await tab.get("/user/ana/collections")
        assert page.status == 200, name
        assert "Ana keeps their collections private." in page.text, name
        assert cards_on(page.text) == [], name
        # The tab shows no count either.
        tab_link = element(page.text, 'a[href="/user/ana/collections"]')
        assert tab_link.text == "Collections" and not tab_link.select("span.count"), name
        fragment = await tab.get("/user/ana/collections", htmx=True)
        assert fragment.root_id() == "profile-tab" and "keeps their collections private" in fragment.text
        collectors = await tab.get(f"/photo/{photo}/collectors")
        assert people_on(collectors.text) == [ids["bruno"]], name

    # ana still sees both herself.
    own = await tabs["ana"].get("/user/ana/collections")
    assert cards_on(own.text) == [photo] and "keeps their collections private" not in own.text
    assert people_on((await tabs["ana"].get(f"/photo/{photo}/collectors")).text) == [ids["ana"], ids["bruno"]]

    # Turning them on again shows everything to everyone.
    await tabs["ana"].get("/settings/privacy")
    assert (await tabs["ana"].post("/settings/privacy", {"public_collections": "y"})).status == 303
    assert (await fetch_user(app, "ana")).public_collections is True
    assert cards_on((await Tab(app).get("/user/ana/collections")).text) == [photo]
    assert people_on((await Tab(app).get(f"/photo/{photo}/collectors")).text) == [ids["ana"], ids["bruno"]]


async def test_collectors_page_is_paginated(app, world) -> None:
    tabs, ids, photo = world
    fans = await add_members(app, [f"fan{index:02d}" for index in range(23)])
    await add_collects(app, *[(fan, photo, index) for index, fan in enumerate(fans)])
    first = await Tab(app).get(f"/photo/{photo}/collectors")
    assert people_on(first.text) == fans[:20]
    assert elements(first.text, f'[href="/photo/{photo}/collectors?page=2"]')
    second = await Tab(app).get(f"/photo/{photo}/collectors?page=2")
    assert people_on(second.text) == fans[20:]


async def test_load_more_of_private_collections_shows_nothing(app, world) -> None:
    tabs, ids, photo = world
    await add_collects(app, *[(ids["ana"], photo, 1)])
    await tabs["ana"].get("/settings/privacy")
    assert (await tabs["ana"].post("/settings/privacy", {})).status == 303
    # A "Load more" link (infinite scroll) of the tab, followed after ana made her collections private.
    page = await tabs["bruno"].get("/user/ana/collections?before=4102444800.000000_999999", htmx=True)
    assert page.status in (200, 403), page.status
    assert cards_on(page.text) == [] and find_id(page.text, "load-more") is None


async def test_load_more_of_private_collections_without_javascript(app, world) -> None:
    tabs, ids, photo = world
    await add_collects(app, *[(ids["ana"], photo, 1)])
    await tabs["ana"].get("/settings/privacy")
    assert (await tabs["ana"].post("/settings/privacy", {})).status == 303
    page = await tabs["bruno"].get("/user/ana/collections?before=4102444800.000000_999999")
    assert page.status == 200 and "Ana keeps their collections private." in page.text
    assert cards_on(page.text) == []
    # ana's own "Load more" still works.
    own = await tabs["ana"].get("/user/ana/collections?before=4102444800.000000_999999", htmx=True)
    assert own.status == 200 and cards_on(own.text) == [photo]
