"""The follow button: follows or unfollows, then swaps itself (and tells the page the new follower count)."""

from __future__ import annotations

from quart import Blueprint, Response, flash, request, url_for

from ..infra import db
from ..models import Permission, User
from ..services import people
from ..web import htmx, responses
from ..web.auth import login_required, permission_required
from ..web.viewer import current_user, require_user

bp = Blueprint("follow", __name__, url_prefix="/_/users")


async def _target(user_id: int) -> User:
    return await people.user_with_id(await db.session(), user_id)


async def _answer(target: User, message: str) -> Response:
    await db.end_writes()  # the answer only reads: other writers need not wait for it
    session = await db.session()
    if htmx.wants_fragment():
        profile = await people.profile(session, current_user(), target)
        context = (await request.form).get("context", "")
        response = await responses.fragment("partials/follow_button.html", profile=profile, context=context)
        # The page may show the count in several places or in none (a photo page): an event
        # that app.js applies to those there are, where an out-of-band swap with no target
        # made htmx log an error on every follow.
        return htmx.trigger(response, "follower-count", {"user": target.id, "count": profile.followers})
    await flash(message, "success")
    return await responses.back(url_for("users.show", username=target.username))


@bp.route("/<int:user_id>/follow", methods=["POST"])
@permission_required(Permission.FOLLOW)
async def follow(user_id: int) -> Response:
    target = await _target(user_id)
    await people.follow(await db.session(), require_user(), target)
    return await _answer(target, f"You follow {target.name} now.")


@bp.route("/<int:user_id>/unfollow", methods=["POST"])
@login_required
async def unfollow(user_id: int) -> Response:
    target = await _target(user_id)
    await people.unfollow(await db.session(), require_user(), target)
    return await _answer(target, f"You no longer follow {target.name}.")
