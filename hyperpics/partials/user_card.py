"""The hover card of a user: loaded when a name or avatar is hovered or focused for 300 ms.

Cards are cached per worker, per login session (the follow form inside carries that
session's CSRF token), for a short time. Each entry remembers the version of the card it was
rendered at (:func:`shared.card_version`, read before the database): a follow, a profile
edit or an upload gives the card a new version once committed, in every worker, and copies
of an older version are never served again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import cast

from quart import Blueprint, Quart, Response, current_app

from ..infra import db
from ..infra.shared import card_version
from ..services import people
from ..web import responses
from ..web.auth import public
from ..web.templating import render_template
from ..web.viewer import current_auth_session, current_user

bp = Blueprint("user_card", __name__, url_prefix="/_/users")

CARD_TTL_SECONDS = 30.0
CARD_CACHE_SIZE = 10_000


class CardCache:
    """Rendered cards by (login session, user), with their version, a time limit and a size limit."""

    def __init__(self, ttl: float = CARD_TTL_SECONDS, size: int = CARD_CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._cards: OrderedDict[tuple[int, int], tuple[float, int, str]] = OrderedDict()

    def get(self, session_id: int, user_id: int, version: int) -> str | None:
        entry = self._cards.get((session_id, user_id))
        if entry is None or entry[1] != version or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[2]

    def put(self, session_id: int, user_id: int, version: int, html: str) -> None:
        self._cards[(session_id, user_id)] = (time.monotonic(), version, html)
        self._cards.move_to_end((session_id, user_id))
        while len(self._cards) > self.size:
            self._cards.popitem(last=False)


def card_cache(app: Quart | None = None) -> CardCache:
    return cast(CardCache, (app or current_app).extensions.setdefault("hyperpics_card_cache", CardCache()))


@bp.route("/<int:user_id>/card")
@public
async def card(user_id: int) -> Response:
    login = current_auth_session()
    session_id = login.id if login is not None else 0
    cache = card_cache()
    version = await card_version(user_id)  # None: unknown just now, so nothing cached is trusted
    html = cache.get(session_id, user_id, version) if version is not None else None
    if html is None:
        session = await db.session()
        user = await people.user_with_id(session, user_id)
        profile = await people.profile(session, current_user(), user)
        # Only the card itself is kept: pending messages belong to this request alone.
        html = await render_template("partials/user_card.html", profile=profile)
        if version is not None:
            cache.put(session_id, user_id, version, html)
    response = await responses.fragment_html(html)
    # The server keeps the copy; the browser asks each time, so it never shows a stale one.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Cookie")
    return response
