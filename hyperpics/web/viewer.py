"""Who is asking: the member a request comes from, found by Quart-Auth's signed cookie.

The cookie's ``auth_id`` is a random token; the token's hash names an :class:`AuthSession`
row, loaded with its user in one query and kept between the member's requests while the
tables it comes from are unchanged (commits through the app, in any worker, retire it; a
change written by another program is seen within ``VIEWER_KEEP_SECONDS``). So revoking the
row (logout elsewhere, password change, block) ends the session on its very next request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

from quart import Quart, abort, current_app, flash, g
from quart_auth import QuartAuth
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..infra.db import session as db_session
from ..models import AuthSession, Notification, Photo, User
from ..services import photos
from .cookies import BadSignature, VerifiedCookies
from .page_cache import table_versions, value_cache


class ViewerCookie(QuartAuth):
    """Quart-Auth, with the login cookie's signature checked once per value (cookies.py)."""

    def __init__(self, app: Quart) -> None:
        self._verified = VerifiedCookies()
        super().__init__(app)

    def load_token(self, token: str, app: Quart | None = None) -> str | None:
        app = app or current_app
        keys = [*(app.config.get("SECRET_KEY_FALLBACKS") or []), app.secret_key]
        try:
            # Quart-Auth's salt is None only until init_app sets it.
            return cast(
                str | None,
                self._verified.loads(token, self.duration, lambda: self.serializer_class(keys, cast(str, self.salt))),
            )
        except BadSignature:  # SignatureExpired among them
            return None


def auth_cookie() -> QuartAuth:
    return cast(QuartAuth, current_app.extensions["hyperpics_auth"])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_user() -> User | None:
    """The logged-in user of this request, or None. Loaded once before the view runs."""
    return cast(User | None, g.get("user"))


def current_auth_session() -> AuthSession | None:
    return cast(AuthSession | None, g.get("auth_session"))


def require_user() -> User:
    user = current_user()
    if user is None:
        abort(401)
    return user


def _viewer_query() -> Select[Any]:
    """One query for every request of a member: the session, its user (with the role), and the
    unread count the bell in the nav shows. Built once: building it cost more than running it."""
    unread = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.receiver_id == User.id, Notification.read_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    return (
        select(AuthSession, User, unread.label("unread"))
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == bindparam("token_hash"))
    )


_VIEWER_QUERY = _viewer_query()
# What the viewer's row is made from: a commit to any of them retires every kept viewer.
VIEWER_TABLES = ("auth_sessions", "users", "roles", "notifications")
# How long a kept viewer may serve at most: what bounds a change written to the database by
# another program (commits through the app retire it at once, in every worker).
VIEWER_KEEP_SECONDS = 5.0


@dataclass(frozen=True)
class _KeptViewer:
    """A member's session row, user (with role) and unread count, as loaded: detached, never
    modified. Each request works on its own copies (:func:`_viewer_of`)."""

    auth_session: AuthSession
    user: User
    unread: int


async def _kept_viewer(session: AsyncSession, token_hash: str) -> _KeptViewer | None:
    """The viewer named by ``token_hash``, kept between their requests while the tables it is
    made from are unchanged: the one query every member's request made, most often for
    nothing new. None: no such session."""
    cache, key = value_cache(), ("viewer", token_hash)
    seconds = min(cache.seconds, VIEWER_KEEP_SECONDS)
    versions = await table_versions(VIEWER_TABLES) if seconds > 0 else None
    if versions is not None and (entry := cache.get(key, versions, seconds)) is not None:
        return cast(_KeptViewer, entry.value)
    row = (await session.execute(_VIEWER_QUERY, {"token_hash": token_hash})).first()
    if row is None:
        return None
    kept = _KeptViewer(row.AuthSession, row.User, row.unread)
    # Out of this request's session: what the request changes is its own copy, never these.
    for instance in (kept.auth_session, kept.user, kept.user.role):
        session.sync_session.expunge(instance)
    if versions is not None:
        cache.put(key, versions, kept, 1)
    return kept


def _viewer_of(session: AsyncSession, kept: _KeptViewer) -> tuple[AuthSession, User]:
    """This request's own session row and user: copies of the kept ones, in its session
    as if loaded (no query), so that what a view changes on them is written as usual."""
    sync = session.sync_session
    return sync.merge(kept.auth_session, load=False), sync.merge(kept.user, load=False)


async def load_viewer() -> None:
    g.user = None
    g.auth_session = None
    auth_id = auth_cookie().load_user().auth_id
    if not auth_id:
        return
    session = await db_session()
    kept = await _kept_viewer(session, hash_token(auth_id))
    if kept is not None and not kept.user.active:
        # Blocking revokes the rows too; this also covers a block made by hand in the database.
        forget_cookie()
        await flash("Your account is blocked.", "danger")
        return
    if kept is None or kept.auth_session.revoked_at is not None:
        forget_cookie()
        await flash("You have been signed out. Please log in again.", "info")
        return
    g.auth_session, g.user = _viewer_of(session, kept)
    g.unread_count = kept.unread


def forget_cookie() -> None:
    auth_cookie().logout_user()


async def visible_photo(photo_id: int, *, with_tags: bool = True) -> Photo:
    """The photo, read on the request's session, if the viewer may see it; otherwise the
    refusal (NotFound: a 404 that does not tell a private photo from a missing one)."""
    return await photos.get_visible(await db_session(), current_user(), photo_id, with_tags=with_tags)
