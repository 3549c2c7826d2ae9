"""The notifications page: all or unread, grouped, mark one or all read."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from quart import Blueprint, Response, abort, flash, request, url_for
from quart.blueprints import BlueprintSetupState

from ..infra import db, numbers
from ..services import notifications
from ..web import htmx, query_args, responses
from ..web.auth import login_required
from ..web.template_helpers import timeago
from ..web.templating import FragmentCache
from ..web.viewer import require_user

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

NOTIFICATION_TEMPLATE = "partials/notification.html"


def notification_shown(group: notifications.Group) -> tuple[Any, ...]:
    """What one line of the list shows: its key in the fragment cache. Everything the template
    reads is here (tests/test_templating.py checks it); the token is a stand-in."""
    latest, first, comment, photo = group.latest, group.actors[0], group.latest.comment, group.latest.photo
    return (
        group.kind, group.unread, tuple(group.ids), len(group.actors), first.username, first.name, first.avatar_medium,
        latest.id, latest.created_at, timeago(latest.created_at), latest.out_of_sight, latest.photo_id,
        latest.comment_id, comment.body if comment is not None else None,
        (photo.id, photo.filename_small, photo.visibility, photo.alt) if photo is not None else None,
    )  # fmt: skip


@bp.record_once
def _notification_items(state: BlueprintSetupState) -> None:
    fragments = FragmentCache(state.app.jinja_env, NOTIFICATION_TEMPLATE)

    def notification_item(group: notifications.Group) -> Markup:
        """``notification_item(group)`` in templates: one line of the list, rendered once per look."""
        return fragments.get(notification_shown(group), lambda: {"group": group})

    state.app.jinja_env.globals["notification_item"] = notification_item


async def _listing_context() -> dict[str, Any]:
    unread_only = request.args.get("filter") == "unread"
    listing = await notifications.listing(
        await db.session(), require_user(), unread_only=unread_only, page=query_args.page()
    )
    return {"listing": listing, "filter": "unread" if unread_only else "all"}


@bp.route("")
@login_required
async def index() -> Response:
    return await responses.page("notifications/index.html", block="list", **await _listing_context())


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
async def read(notification_id: int) -> Response:
    """Mark one line read (a grouped line sends the ids it stands for)."""
    form = await request.form
    ids = {notification_id}
    ids.update(number for number in map(numbers.row_id, form.getlist("ids")) if number is not None)
    session = await db.session()
    user = require_user()
    chosen = sorted(ids)[-100:]
    await notifications.mark_read(session, user, chosen)
    if htmx.wants_fragment():
        group = await notifications.group_of(session, user, chosen)
        if group is None:
            abort(404, description="There is no such notification.")
        unread = await notifications.unread_count(session, user.id)
        return await responses.fragment("partials/notification_read.html", group=group, unread=unread)
    await flash("Marked as read.", "success")
    return await responses.back(url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
async def read_all() -> Response:
    count = await notifications.mark_all_read(await db.session(), require_user())
    if htmx.wants_fragment():
        return await responses.page("notifications/index.html", block="list", bell=0, **await _listing_context())
    await flash(f"{count} notification{'' if count == 1 else 's'} marked as read.", "success")
    return await responses.back(url_for("notifications.index"))
