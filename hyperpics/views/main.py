"""Home (landing page or feed), explore and tag pages."""

from __future__ import annotations

import random

from quart import Blueprint, Response, abort, request

from ..infra import db, numbers
from ..services import listings, photos, tags
from ..web import page_cache, query_args, responses
from ..web.auth import public
from ..web.viewer import current_user

bp = Blueprint("main", __name__)


@bp.route("/")
@public
@page_cache.shared_for_anonymous
async def index() -> Response:
    session = await db.session()
    viewer = current_user()
    hot_tags = await page_cache.remember("hot_tags", tags.HOT_TAG_TABLES, lambda: tags.hot_tags(session))
    if viewer is None:
        recent = await listings.recent_public(session)
        return await responses.page("main/landing.html", cards=recent, hot_tags=hot_tags)
    feed = await listings.home_feed(session, viewer, request.args.get("before"))
    # "Load more" asks for the next items only; the page is the same URL.
    return await responses.page("main/feed.html", block="feed_items", feed=feed, hot_tags=hot_tags)


EXPLORE_SAMPLES = 8  # drawings of explore kept for anonymous visitors


@bp.route("/explore")
@public
@page_cache.sampled_for_anonymous(EXPLORE_SAMPLES)
async def explore() -> Response:
    """The public photos in a random order, a page at a time. ``from`` is where this walk
    started (a fresh one without it: Shuffle) and ``after`` the last one shown."""
    start, after = _walk_position("from"), _walk_position("after")
    if after is not None and start is None:
        abort(400, description="This explore link is incomplete: it says where to go on, not where it began.")
    if start is None:
        # A fresh walk: one of the drawings kept for everyone (members too; their page differs
        # only in its layout). Going on with a walk reads its next page.
        drawing = ("explore drawing", random.randrange(EXPLORE_SAMPLES))
        page = await page_cache.kept_read(drawing, photos.CARD_TABLES, listings.explore)
    else:
        page = await listings.explore(await db.session(), start, after)
    # "Load more" asks for the next cards only; Shuffle for the whole grid again.
    block = "explore_items" if after is not None else "grid"
    return await responses.page("main/explore.html", block=block, page=page)


def _walk_position(name: str) -> float | None:
    """A position in explore's walk, a number from 0 to 1, or 400."""
    value = request.args.get(name)
    if value is None:
        return None
    position = numbers.fraction(value)
    if position is None:
        abort(400, description=f"This explore link is damaged: '{name}' must be a number from 0 to 1.")
    return position


@bp.route("/tag/<int:tag_id>", defaults={"order": "by_time"})
@bp.route("/tag/<int:tag_id>/<order>")
@public
@page_cache.shared_for_anonymous
async def tag(tag_id: int, order: str) -> Response:
    session, viewer = await db.session(), current_user()
    number = query_args.page()
    public = await page_cache.kept_read(
        ("public tag", tag_id), tags.TAG_TABLES, lambda reader: tags.public_tag(reader, tag_id)
    )
    kind = photos.sight(viewer)
    if public is not None and (kind != photos.MEMBER or public.only_public):
        # What everyone under the viewer's rule sees (a member sees the public photos when
        # there are no others): one page shared by all of them.
        found = public.tag
        page = await page_cache.kept_read(
            ("tag page", tag_id, kind, order, number),
            (*photos.CARD_TABLES, *tags.TAG_TABLES),
            lambda reader: tags.tag_page(reader, None, found, order, number, kind=kind),
        )
    else:
        found = public.tag if public is not None else await tags.get_tag(session, viewer, tag_id)
        page = await tags.tag_page(session, viewer, found, order, number)
    return await responses.page("tags/show.html", block="results", tag=found, order=order, page=page)
