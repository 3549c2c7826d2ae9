"""Explore: every public photo once, in a random order that pages like a listing (a walk of
``photos.shuffle_key`` from a random start), with "Load more"; grids keep each photo's shape."""

from __future__ import annotations

import html
import re
from pathlib import Path

from quart import Quart

import hyperpics
from hyperpics.models import Visibility
from hyperpics.services.listings import EXPLORE_PER_PAGE

from .conftest import Tab, make_user
from .factories import add_photo, add_photos
from .helpers import counting
from .html import elements, find_id


def cards_on(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'id="photo-card-(\d+)"', html)]


def load_more_url(html: str) -> str | None:
    found = re.search(r'id="load-more"[^>]*href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_explore_walks_every_public_photo_once_a_page_at_a_time(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    public = set(await add_photos(app, "ana", 2 * EXPLORE_PER_PAGE + 5))
    await add_photo(app, "ana", Visibility.FOLLOWERS)
    await add_photo(app, "ana", Visibility.PRIVATE)
    for start in ("0.5", "0.0", "1.0"):
        visitor, seen = Tab(app), []
        page = await visitor.get(f"/explore?from={start}")
        assert page.status == 200 and find_id(page.text, "explore-grid")
        seen += cards_on(page.text)
        url = load_more_url(page.text)
        pages = 1
        while url is not None:
            # htmx asks for the next cards and the next "Load more" only, in place of the link.
            more = await visitor.get(url, htmx=True)
            assert more.status == 200 and find_id(more.text, "explore-grid") is None and "<html" not in more.text
            assert len(cards_on(more.text)) <= EXPLORE_PER_PAGE
            seen += cards_on(more.text)
            url, pages = load_more_url(more.text), pages + 1
            assert pages <= 3
        assert len(seen) == len(set(seen)) and set(seen) == public, start
        assert "That is every public photo." in more.text


async def test_explore_pages_without_javascript_and_a_new_walk_starts_elsewhere(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await add_photos(app, "ana", EXPLORE_PER_PAGE + 3)
    first = await Tab(app).get("/explore?from=0.25")
    url = load_more_url(first.text)
    assert url is not None and "from=0.25" in url
    second = await Tab(app).get(url)  # a plain link: the whole page, with the next cards
    assert second.status == 200 and "<html" in second.text and find_id(second.text, "explore-grid")
    assert not set(cards_on(first.text)) & set(cards_on(second.text))
    # Shuffle: another start, drawn at random each time for a member.
    member = await make_user(app, Tab(app), "bruno")
    orders = {tuple(cards_on((await member.get("/explore")).text)) for _ in range(6)}
    assert len(orders) > 1


async def test_explore_is_one_statement_and_refuses_damaged_positions(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await add_photos(app, "ana", 3)
    member = tab
    with counting(app) as statements:
        page = await member.get("/explore?from=0.3&after=0.9")
    assert page.status == 200
    assert len([s for s in statements if "shuffle_key" in s]) == 1
    for query, message in [
        ("from=2", "'from' must be a number from 0 to 1"),
        ("from=nan", "'from' must be a number from 0 to 1"),
        ("from=0.5&after=-1", "'after' must be a number from 0 to 1"),
        ("after=0.5", "it says where to go on, not where it began"),
        ("from=1e400", "'from' must be a number from 0 to 1"),
    ]:
        refused = await Tab(app).get(f"/explore?{query}")
        assert refused.status == 400 and message in html.unescape(refused.text), query


async def test_grid_cards_keep_the_photo_shape_and_the_profile_leaves_out_its_owner(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    wide = await add_photo(app, "ana", width=1600, height=900)
    tall = await add_photo(app, "ana", width=800, height=1200)
    panorama = await add_photo(app, "ana", width=9000, height=1000)
    page = await Tab(app).get("/explore")
    shapes = dict(
        (int(photo), shape)
        for shape, photo in re.findall(r'class="photo-card (ar-\d+)" id="photo-card-(\d+)"', page.text)
    )
    assert shapes == {wide: "ar-180", tall: "ar-65", panorama: "ar-400"}  # to 0.05, capped at 4
    # Every shape a photo can have has its rule (a style attribute would need 'unsafe-inline').
    css = (Path(hyperpics.__file__).parent / "static" / "css" / "app.css").read_text()
    assert all(f".ar-{hundredths}{{--ar:{hundredths / 100:g}}}" in css for hundredths in range(25, 401, 5))
    # Elsewhere each card names its author; on the author's own profile that would be noise.
    explore_names = re.findall(r'class="user-link" href="/user/ana"', page.text)
    assert len(explore_names) == 3
    profile = await Tab(app).get("/user/ana")
    grid = profile.text[profile.text.index('id="tab-items"') :]
    assert len(cards_on(grid)) == 3 and not elements(grid, '[href="/user/ana"]')


def test_every_position_a_walk_can_reach_reads_back_exactly() -> None:
    """The next page's link holds the last key as Python writes it (repr): '0.00012345678901234567'
    has 20 decimals, '7.5e-05' an exponent; each must read back as the same float."""
    import random

    from hyperpics.infra.numbers import fraction

    draws = random.Random(7)
    keys = [draws.random() for _ in range(20_000)] + [draws.random() * 1e-4 for _ in range(2_000)] + [0.0, 1.0, 5e-324]
    assert all(fraction(repr(key)) == key for key in keys)
