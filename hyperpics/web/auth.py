"""Logging in and out (server-side session rows), and the route guards.

"Fresh" means a password login within ``FRESH_LOGIN_SECONDS``. Every view declares who may
use it with one of the guards below; the policy test walks the URL map and fails on a view
without a declaration. Who is asking is viewer.py's.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from typing import Any, Literal, ParamSpec, TypeVar, cast
from urllib.parse import urlsplit

from quart import Quart, Response, abort, current_app, flash, g, redirect, request, url_for
from quart_auth import Action, AuthUser
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.exceptions import Forbidden

from ..infra.wakeups import SESSION, wake_after_commit
from ..models import AuthSession, Permission, User, utcnow
from . import csrf, htmx
from .viewer import (
    ViewerCookie,
    auth_cookie,
    current_auth_session,
    current_user,
    forget_cookie,
    hash_token,
    load_viewer,
)

P = ParamSpec("P")
R = TypeVar("R")

Access = Literal["public", "anonymous", "login", "confirmed", "permission", "fresh"]


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
    auth_cookie().login_user(auth_user)
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
    forget_cookie()
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
    app.extensions["hyperpics_auth"] = ViewerCookie(app)

    @app.before_request
    async def _who_is_asking() -> None:
        if request.endpoint == "static":
            g.user = g.auth_session = None  # stylesheets and scripts need nobody's session
            return
        await load_viewer()

    @app.context_processor
    async def _viewer() -> dict[str, Any]:
        return {"current_user": current_user(), "Permission": Permission, "unread_count": g.get("unread_count", 0)}
