"""Search: the results page (photo / user / tag tabs) and the nav box's dropdown."""

from __future__ import annotations

from typing import Any, cast

from markupsafe import Markup
from quart import Blueprint, Response, request
from quart.blueprints import BlueprintSetupState

from ..infra import db
from ..models import Photo, User
from ..services.search import CATEGORIES, MAX_QUERY_LENGTH, Hit, index_for
from ..web import query_args, responses
from ..web.auth import public
from ..web.page_cache import shared_for_anonymous
from ..web.templating import FragmentCache
from ..web.viewer import current_user

bp = Blueprint("search", __name__, url_prefix="/search")

SUGGESTIONS = 4
HIT_TEMPLATES = {"photo": "partials/search_photo_hit.html", "user": "partials/search_person_hit.html"}


def search_hit_shown(hit: Hit, category: str) -> tuple[Any, ...]:
    """What one photo or person found shows: its key in the fragment cache. Everything the
    templates read is here (tests/test_templating.py checks it); nothing depends on who asks."""
    shown: tuple[Any, ...]
    if category == "photo":
        photo = cast(Photo, hit.item)
        person = photo.author
        shown = (
            photo.id, photo.visibility, photo.filename_original, photo.filename_small, photo.width, photo.height,
            photo.derivatives, photo.colour, photo.alt,
        )  # fmt: skip
    else:
        person, shown = cast(User, hit.item), ()
    return (category, *shown, person.id, person.username, person.name, person.avatar_medium, str(hit.snippet))


@bp.record_once
def _search_hits(state: BlueprintSetupState) -> None:
    kept = {category: FragmentCache(state.app.jinja_env, template) for category, template in HIT_TEMPLATES.items()}

    def search_hit(hit: Hit, category: str) -> Markup:
        """``search_hit(hit, category)`` in templates: one photo or person found, rendered once per look."""
        return kept[category].get(search_hit_shown(hit, category), lambda: {"hit": hit})

    state.app.jinja_env.globals["search_hit"] = search_hit


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
        session = await db.session()
        results = await index_for(session).search(session, current_user(), query, category, query_args.page())
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
        index = index_for(session)
        for category in CATEGORIES:
            found[category] = await index.search(session, current_user(), query, category, 1, SUGGESTIONS)
    return await responses.fragment("partials/search_suggestions.html", query=query, found=found)
