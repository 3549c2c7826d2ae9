"""A person's page: header, and the tabs Photos, Collections, Following, Followers.

Each tab is a full page at its own URL; htmx swaps only the tab block and pushes the URL.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, flash, request, url_for

from ..forms.photos import ReportForm
from ..infra import db
from ..models import Permission, ReportTarget
from ..services import collecting, listings, people, photos
from ..web import htmx, page_cache, query_args, responses
from ..web.auth import permission_required, public
from ..web.page_cache import shared_for_anonymous
from ..web.report_form import file_report
from ..web.viewer import current_user, require_user

bp = Blueprint("users", __name__, url_prefix="/user")

TABS = ("photos", "collections", "following", "followers")


async def _render(username: str, tab: str) -> Response:
    session = await db.session()
    viewer = current_user()
    name = username.strip().lower()
    user = await page_cache.kept_read(
        ("user named", name), people.USER_TABLES, lambda reader: people.user_named(reader, name)
    )
    profile = await people.profile(session, viewer, user)
    context: dict[str, Any] = {"profile": profile, "user": user, "tab": tab}
    cursor = request.args.get("before")
    if tab == "photos":
        # One of three listings shared by everyone (see photos.author_sight), by what the
        # viewer may see of this author's photos.
        kind = photos.author_sight(viewer, user.id, profile.relationship.following)
        context["feed"] = await page_cache.kept_read(
            ("author photos", user.id, kind, cursor),
            photos.CARD_TABLES,
            lambda reader: listings.author_photos(reader, kind, user.id, cursor),
        )
    elif tab == "collections":
        if people.collections_visible(viewer, user):
            context["feed"] = await collecting.collections(session, viewer, user, cursor)
    elif tab == "followers":
        context["people"] = await people.followers(session, viewer, user, query_args.page())
    else:
        context["people"] = await people.following(session, viewer, user, query_args.page())
    # "Load more" wants the next items only; a tab link wants the whole tab.
    block = "tab_items" if cursor and "feed" in context else "tab"
    return await responses.page("users/show.html", block=block, **context)


@bp.route("/<username>")
@public
@shared_for_anonymous
async def show(username: str) -> Response:
    return await _render(username, "photos")


@bp.route("/<username>/collections")
@public
@shared_for_anonymous
async def collections(username: str) -> Response:
    return await _render(username, "collections")


@bp.route("/<username>/following")
@public
@shared_for_anonymous
async def following(username: str) -> Response:
    return await _render(username, "following")


@bp.route("/<username>/followers")
@public
@shared_for_anonymous
async def followers(username: str) -> Response:
    return await _render(username, "followers")


@bp.route("/<username>/report", methods=["GET", "POST"])
@permission_required(Permission.REPORT)
async def report(username: str) -> Response:
    """Report a member (spam account, harassment...): GET shows the form, POST files it."""
    session = await db.session()
    user = await people.user_named(session, username)
    form = await ReportForm.from_request()
    form_id, action = "report-user-form", url_for("users.report", username=user.username)
    status = 200
    if request.method == "POST":
        refused = await file_report(form, require_user(), ReportTarget.USER, user.id, user.id)
        if refused is None:
            if htmx.wants_fragment():
                return await responses.fragment("partials/report_done.html", form_id=form_id, what="member")
            await flash("Thanks: a moderator will look at this member.", "success")
            return await responses.see_other(url_for("users.show", username=user.username))
        status = refused
        if htmx.wants_fragment():
            return await responses.fragment(
                "partials/report_form.html", status, form=form, form_id=form_id, action=action
            )
    return await responses.page("users/report.html", status, user=user, form=form, form_id=form_id, action=action)
