"""Home (landing page or feed), explore and tag pages."""

from __future__ import annotations

from quart import Blueprint, Response, abort, request

from .. import db, numbers, page_cache, responses
from ..auth import current_user, public
from ..services import photos

bp = Blueprint("main", __name__)



@bp.route("/")
@public
@page_cache.shared_for_anonymous
async def index() -> Response:
    session = await db.session()
    viewer = current_user()
    hot_tags = await page_cache.remember("hot_tags", photos.HOT_TAG_TABLES, lambda: photos.hot_tags(session))
    if viewer is None:
        recent = await photos.recent_public(session)
        return await responses.page("main/landing.html", cards=recent, hot_tags=hot_tags)
    try:
        feed = await photos.home_feed(session, viewer, request.args.get("before"))
    except photos.PhotoError as error:
        abort(error.status, description=error.message)
    # "Load more" asks for the next items only; the page is the same URL.
    return await responses.page("main/feed.html", block="feed_items", feed=feed, hot_tags=hot_tags)


EXPLORE_SAMPLES = 8  # drawings of explore kept for anonymous visitors


@bp.route("/explore")
@public
@page_cache.sampled_for_anonymous(EXPLORE_SAMPLES)
async def explore() -> Response:
    cards = await photos.explore(await db.session(), current_user())
    return await responses.page("main/explore.html", block="grid", cards=cards)


@bp.route("/tag/<int:tag_id>", defaults={"order": "by_time"})
@bp.route("/tag/<int:tag_id>/<order>")
@public
@page_cache.shared_for_anonymous
async def tag(tag_id: int, order: str) -> Response:
    session = await db.session()
    try:
        found = await photos.get_tag(session, current_user(), tag_id)
        page = await photos.tag_page(session, current_user(), found, order, numbers.page_number(request.args.get("page")))
    except photos.PhotoError as error:
        abort(error.status, description=error.message)
    return await responses.page("tags/show.html", block="results", tag=found, order=order, page=page)
