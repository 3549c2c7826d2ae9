"""The photo page's order (author, photo, actions, details, comments) and the full-screen
viewer: a real URL per photo, with the author's newer and older photos a link away."""

from __future__ import annotations

import re

from quart import Quart

from hyperpics.models import Visibility

from .conftest import Tab, make_user
from .factories import add_comment, add_photos, add_photo


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
    article = page.text[page.text.index('class="photo-page"'):]
    places = [article.index(marker) for marker in markers]
    assert places == sorted(places), dict(zip(markers, places, strict=True))
    # One h1, naming the photo, before the photo itself.
    assert page.text.count("<h1") == 1
    assert re.search(r'<h1 id="photo-heading"[^>]*>harbour at dawn</h1>', page.text)
    assert f'href="/photo/{photo}/view"' in page.text


async def test_the_viewer_is_a_page_with_links_for_newer_older_and_close(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    older, middle, newer = await add_photos(app, "ana", 3)
    page = await Tab(app).get(f"/photo/{middle}/view")
    assert page.status == 200
    assert re.search(rf'class="viewer-prev" rel="prev" href="/photo/{newer}/view"', page.text)
    assert re.search(rf'class="viewer-next" rel="next" href="/photo/{older}/view"', page.text)
    assert f'class="viewer-close" href="/photo/{middle}"' in page.text
    assert re.search(r'<script src="/static/js/viewer\.js\?v=\w+" defer>', page.text)
    assert 'class="site-nav' not in page.text and "site-footer" not in page.text  # the photo alone
    # The ends have no link past them.
    first = await Tab(app).get(f"/photo/{newer}/view")
    assert "viewer-prev" not in first.text and f'href="/photo/{middle}/view"' in first.text
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
