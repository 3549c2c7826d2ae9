"""The photo page's order (author, photo, actions, details, comments) and the full-screen
viewer: a real URL per photo, with the author's newer and older photos a link away."""

from __future__ import annotations

import re

from quart import Quart

from hyperpics.models import Visibility

from .conftest import Tab, make_user
from .factories import add_comment, add_photo, add_photos
from .html import count, element, elements


async def test_the_photo_page_reads_author_photo_actions_details_then_comments(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    photo = await add_photo(app, "ana", description="harbour at dawn", tags=["harbour"])
    await add_comment(app, "ana", photo, "the light!")
    member = await make_user(app, Tab(app), "bruno")
    page = await member.get(f"/photo/{photo}")
    assert page.status == 200
    markers = ['class="author-bar"', 'class="photo-frame"', 'class="collect-button', 'class="share action-popover"',
               'class="report action-popover"', 'id="photo-details"', '<p class="description">harbour at dawn',
               'href="/tag/', "the light!"]  # fmt: skip
    article = page.text[page.text.index('class="photo-page"') :]
    places = [article.index(marker) for marker in markers]
    assert places == sorted(places), dict(zip(markers, places, strict=True))
    # One h1, naming the photo, before the photo itself.
    assert count(page.text, "h1") == 1
    assert element(page.text, "h1#photo-heading").text == "harbour at dawn"
    assert elements(page.text, f'[href="/photo/{photo}/view"]')


async def test_the_viewer_is_a_page_with_links_for_newer_older_and_close(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    older, middle, newer = await add_photos(app, "ana", 3)
    page = await Tab(app).get(f"/photo/{middle}/view")
    assert page.status == 200
    assert elements(page.text, f'[class=viewer-prev][rel=prev][href="/photo/{newer}/view"]')
    assert elements(page.text, f'[class=viewer-next][rel=next][href="/photo/{older}/view"]')
    assert elements(page.text, f'[class=viewer-close][href="/photo/{middle}"]')
    assert any(
        re.fullmatch(r"/static/js/viewer\.js\?v=\w+", script["src"]) and script.has("defer")
        for script in elements(page.text, "script[src]")
    )
    assert not elements(page.text, "[class^=site-nav]") and "site-footer" not in page.text  # the photo alone
    # The ends have no link past them.
    first = await Tab(app).get(f"/photo/{newer}/view")
    assert "viewer-prev" not in first.text and elements(first.text, f'[href="/photo/{middle}/view"]')
    last = await Tab(app).get(f"/photo/{older}/view")
    assert "viewer-next" not in last.text


async def test_the_viewer_shows_only_what_the_viewer_may_see(app: Quart, tab: Tab) -> None:
    owner = await make_user(app, tab, "ana")
    public = await add_photo(app, "ana")
    hidden = await add_photo(app, "ana", Visibility.PRIVATE)
    assert (await Tab(app).get(f"/photo/{hidden}/view")).status == 404
    assert (await Tab(app).get("/photo/99999/view")).status == 404
    assert (await owner.get(f"/photo/{hidden}/view")).status == 200
    # Its neighbour for a stranger skips the private photo.
    assert f"/photo/{hidden}/view" not in (await Tab(app).get(f"/photo/{public}/view")).text
