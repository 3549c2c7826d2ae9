"""Search: the results page (photo / user / tag tabs) and the nav box's dropdown."""

from __future__ import annotations

from quart import Blueprint, Response, request

from .. import db, numbers, responses
from ..auth import current_user, public
from ..page_cache import shared_for_anonymous
from ..search import CATEGORIES, MAX_QUERY_LENGTH, search_index

bp = Blueprint("search", __name__, url_prefix="/search")

SUGGESTIONS = 4



def _query() -> tuple[str, str | None]:
    """The query as typed (trimmed), and a message when it cannot be searched as given."""
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY_LENGTH:
        return query[:MAX_QUERY_LENGTH], f"Only the first {MAX_QUERY_LENGTH} characters were searched."
    return query, None


@bp.route("")
@public
@shared_for_anonymous
async def index() -> Response:
    query, notice = _query()
    category = request.args.get("category", "photo")
    if category not in CATEGORIES:
        category = "photo"
    results = None
    if query:
        results = await search_index().search(await db.session(), current_user(), query, category, numbers.page_number(request.args.get("page")))
    return await responses.page(
        "search/index.html", block="results", query=query, category=category, results=results, notice=notice
    )


@bp.route("/suggest")
@public
async def suggest() -> Response:
    """A few of each kind, for the dropdown under the nav box while typing."""
    query, _ = _query()
    found = {}
    if query:
        session = await db.session()
        index = search_index()
        for category in CATEGORIES:
            found[category] = await index.search(session, current_user(), query, category, 1, SUGGESTIONS)
    return await responses.fragment("partials/search_suggestions.html", query=query, found=found)
