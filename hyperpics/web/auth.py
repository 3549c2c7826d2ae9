"""Who is asking: server-side login sessions on top of Quart-Auth, and the route guards.

Quart-Auth keeps a signed cookie whose ``auth_id`` is a random token; the token's hash
names an :class:`AuthSession` row, loaded with its user in one query and kept between the
member's requests while the tables it comes from are unchanged (commits through the app, in
any worker, retire it; a change written by another program is seen within
``VIEWER_KEEP_SECONDS``). So revoking the row (logout elsewhere, password change, block) ends
the session on its very next request. "Fresh" means a password login within ``FRESH_LOGIN_SECONDS``.

Every view declares who may use it with one of the guards below; the policy test walks
the URL map and fails on a view without a declaration.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, Literal, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from quart import Quart, Response, abort, current_app, flash, g, redirect, request, url_for
from quart_auth import Action, AuthUser, QuartAuth
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.exceptions import Forbidden

from ..infra.db import session as db_session
from ..infra.wakeups import SESSION, wake_after_commit
from ..models import AuthSession, Notification, Permission, User, utcnow
from . import csrf, htmx
from .cookies import BadSignature, VerifiedCookies
from .page_cache import table_versions, value_cache

P = ParamSpec("P")
R = TypeVar("R")

Access = Literal["public", "anonymous", "login", "confirmed", "permission", "fresh"]


class _QuartAuth(QuartAuth):
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


def _auth() -> QuartAuth:
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


async def _load_viewer() -> None:
    g.user = None
    g.auth_session = None
    auth_id = _auth().load_user().auth_id
    if not auth_id:
        return
    session = await db_session()
    kept = await _kept_viewer(session, hash_token(auth_id))
    if kept is not None and not kept.user.active:
        # Blocking revokes the rows too; this also covers a block made by hand in the database.
        _forget_cookie()
        await flash("Your account is blocked.", "danger")
        return
    if kept is None or kept.auth_session.revoked_at is not None:
        _forget_cookie()
        await flash("You have been signed out. Please log in again.", "info")
        return
    g.auth_session, g.user = _viewer_of(session, kept)
    g.unread_count = kept.unread


def _forget_cookie() -> None:
    _auth().logout_user()


async def start_session(session: AsyncSession, user: User, *, remember: bool) -> AuthSession:
    """Log ``user`` in: a new session row and a cookie naming it."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = AuthSession(
        token_hash=hash_token(token),
        user_id=user.id,
        created_at=now,
        last_fresh_at=now,
        remember=remember,
        user_agent=request.headers.get("User-Agent", "")[:200],
    )
    session.add(row)
    await session.flush()
    auth_user = AuthUser(token)
    auth_user.action = Action.WRITE_PERMANENT if remember else Action.WRITE
    _auth().login_user(auth_user)
    csrf.rotate()
    g.user = user
    g.auth_session = row
    return row


async def end_session(session: AsyncSession, *, revoke: bool = True) -> None:
    """Log the current session out (its row revoked, its cookie deleted)."""
    row = current_auth_session()
    if row is not None and revoke:
        row.revoked_at = utcnow()
        wake_after_commit(session, row.user_id, SESSION)  # its open streams end too
    _forget_cookie()
    csrf.rotate()
    g.user = None
    g.auth_session = None


def mark_fresh() -> None:
    row = current_auth_session()
    if row is not None:
        row.last_fresh_at = utcnow()


def is_fresh() -> bool:
    row = current_auth_session()
    if row is None or row.last_fresh_at is None:
        return False
    window = timedelta(seconds=current_app.config["FRESH_LOGIN_SECONDS"])
    return utcnow() - row.last_fresh_at <= window


# --- guards -------------------------------------------------------------------------------


def _declare(view: Callable[..., Any], access: Access, permission: Permission | None = None) -> None:
    view.access = access  # type: ignore[attr-defined]
    view.permission = permission  # type: ignore[attr-defined]


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to; anything pointing off-site falls back to ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host"; control characters can smuggle the same.
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or any(ord(char) < 32 for char in target)
    ):
        return default
    return target


async def _to_login() -> Any:
    await flash("Please log in to access this page.", "warning")
    if htmx.is_htmx():
        # A fragment cannot show a login form: send the whole tab there, then back.
        response = cast(Response, await current_app.make_response(("", 204)))
        return htmx.redirect(response, url_for("auth.login", next=htmx_current_path()))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def public[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Anyone may use this view."""
    _declare(view, "public")
    return view


def anonymous_only[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Logged-in users are sent home (login, register, password reset)."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        if current_user() is not None:
            return redirect(url_for("main.index"))
        return await view(*args, **kwargs)

    _declare(wrapper, "anonymous")
    return wrapper


def login_required[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        if current_user() is None:
            return await _to_login()
        return await view(*args, **kwargs)

    _declare(wrapper, "login")
    return wrapper


CONFIRM_FIRST = "Please confirm your email address first."


class ConfirmationNeeded(Forbidden):
    """A member whose address is not confirmed asked for what needs it (uploading, say): the
    error page says what to do, not just 403."""

    def __init__(self) -> None:
        super().__init__(description=CONFIRM_FIRST)


def confirmed_required[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        user = current_user()
        if user is None:
            return await _to_login()
        if not user.confirmed:
            raise ConfirmationNeeded()
        return await view(*args, **kwargs)

    _declare(wrapper, "confirmed")
    return wrapper


def permission_required(
    permission: Permission, *, fresh: bool = False
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Login, and the permission by name (which also needs a confirmed email for user actions).

    With ``fresh``, also a recent password login (role changes, editing someone's profile).
    """

    def decorator(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            user = current_user()
            if user is None:
                return await _to_login()
            if not user.can(permission):
                if _needs_confirmation(user, permission):
                    raise ConfirmationNeeded()
                abort(403, description=permission_denied_message(user, permission))
            if fresh and not is_fresh():
                return await _to_reauthenticate()
            return await view(*args, **kwargs)

        _declare(wrapper, "permission", permission)
        return wrapper

    return decorator


def _needs_confirmation(user: User, permission: Permission) -> bool:
    return user.active and user.role.grants(permission) and not user.confirmed


def permission_denied_message(user: User, permission: Permission) -> str:
    if user.role.grants(permission) and not user.confirmed:
        return CONFIRM_FIRST
    if user.locked:
        return "Your account is locked: you cannot do this until a moderator unlocks it."
    return "You don't have permission to do this."


def fresh_login_required[**P, R](view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Login, and a password login within the last few minutes (sensitive changes)."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
        if current_user() is None:
            return await _to_login()
        if not is_fresh():
            return await _to_reauthenticate()
        return await view(*args, **kwargs)

    _declare(wrapper, "fresh")
    return wrapper


async def _to_reauthenticate() -> Any:
    if htmx.is_htmx():
        response = cast(Response, await current_app.make_response(("", 204)))
        return htmx.redirect(response, url_for("auth.reauthenticate", next=htmx_current_path()))
    await flash("Please enter your password again to continue.", "info")
    back_to = request.full_path.rstrip("?")
    if request.method == "POST":
        # A form post cannot be replayed by a redirect: return to the page it came from.
        back_to = safe_next((await request.form).get("next"), back_to)
    return redirect(url_for("auth.reauthenticate", next=back_to))


def htmx_current_path() -> str:
    """The page the user is on when htmx asked (HX-Current-URL), as a local path."""
    path, query = htmx.current_url()
    return safe_next(path + (f"?{query}" if query else "") or request.path)


def init_app(app: Quart) -> None:
    app.config.setdefault("QUART_AUTH_COOKIE_NAME", "hyperpics_auth")
    app.config["QUART_AUTH_COOKIE_SAMESITE"] = "Lax"
    app.config["QUART_AUTH_COOKIE_HTTP_ONLY"] = True
    app.config["QUART_AUTH_COOKIE_SECURE"] = app.config["ENV"] != "development"
    app.config["QUART_AUTH_DURATION"] = app.config["REMEMBER_DAYS"] * 24 * 3600
    app.config["QUART_AUTH_SALT"] = "hyperpics-auth"
    app.extensions["hyperpics_auth"] = _QuartAuth(app)

    @app.before_request
    async def _who_is_asking() -> None:
        if request.endpoint == "static":
            g.user = g.auth_session = None  # stylesheets and scripts need nobody's session
            return
        await _load_viewer()

    @app.context_processor
    async def _viewer() -> dict[str, Any]:
        return {"current_user": current_user(), "Permission": Permission, "unread_count": g.get("unread_count", 0)}
