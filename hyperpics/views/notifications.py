"""The notifications page: all or unread, grouped, mark one or all read."""

from __future__ import annotations

from quart import Blueprint, Response, abort, flash, request, url_for

from .. import db, htmx, numbers, responses
from ..auth import login_required, require_user
from ..services import notifications

bp = Blueprint("notifications", __name__, url_prefix="/notifications")



async def _listing_context() -> dict[str, object]:
    unread_only = request.args.get("filter") == "unread"
    listing = await notifications.listing(await db.session(), require_user(), unread_only=unread_only, page=numbers.page_number(request.args.get("page")))
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
