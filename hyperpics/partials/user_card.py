"""The hover card of a user: loaded when a name or avatar is hovered or focused for 300 ms."""

from __future__ import annotations

from quart import Blueprint, Response, abort

from .. import db, responses
from ..auth import current_user, public
from ..services import social

bp = Blueprint("user_card", __name__, url_prefix="/_/users")

# Seconds a browser may reuse a card; the follow button inside swaps itself anyway.
CARD_MAX_AGE = 60


@bp.route("/<int:user_id>/card")
@public
async def card(user_id: int) -> Response:
    session = await db.session()
    try:
        user = await social.user_with_id(session, user_id)
    except social.SocialError as error:
        abort(error.status, description=error.message)
    profile = await social.profile(session, current_user(), user)
    response = await responses.fragment("partials/user_card.html", profile=profile)
    # Per viewer (the relationship badge differs), so private to the browser, and short.
    response.headers["Cache-Control"] = f"private, max-age={CARD_MAX_AGE}"
    response.vary.add("Cookie")
    return response
