"""CSRF protection for every unsafe request, applied before any view runs.

A random token lives in the (signed, HttpOnly) session cookie and is echoed by every form
(``csrf_token`` field) and by htmx (``X-CSRF-Token`` header, set once on ``<body>``).
Requests from another site are also refused by their ``Origin`` / ``Sec-Fetch-Site``.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from quart import Quart, abort, current_app, g, request, session

from ..infra.db import SAFE_METHODS
from . import templating

SESSION_KEY = "csrf"
FIELD_NAME = "csrf_token"
HEADER_NAME = "X-CSRF-Token"


class CSRFError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token() -> str:
    """The session's token, created on first use."""
    value = session.get(SESSION_KEY)
    if not value:
        value = secrets.token_urlsafe(32)
        session[SESSION_KEY] = value
    return value


def rotate() -> None:
    """A new token after login/logout, so a token seen before cannot be replayed."""
    session[SESSION_KEY] = secrets.token_urlsafe(32)


def _same_origin(origin: str) -> bool:
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"}:
        return False
    # Behind a proxy the Host header may differ from the public address in BASE_URL.
    public = urlsplit(current_app.config["BASE_URL"])
    return parts.netloc == request.host or (parts.scheme, parts.netloc) == (public.scheme, public.netloc)


async def check() -> None:
    """Raise :class:`CSRFError` unless this unsafe request is same-site and carries the token."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in {"same-origin", "none"}:
        raise CSRFError("The request came from another site.")
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null" and not _same_origin(origin):
        raise CSRFError("The request came from another site.")
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER_NAME)
    if sent is None:
        form = await request.form
        sent = form.get(FIELD_NAME)
    # As bytes: compare_digest refuses str with non-ASCII characters, and anyone may send some.
    if not expected or not sent or not hmac.compare_digest(str(sent).encode(), str(expected).encode()):
        raise CSRFError("The form has expired or did not come from this site. Reload the page and try again.")


def init_app(app: Quart) -> None:
    @app.before_request
    async def _protect() -> None:
        if request.method in SAFE_METHODS:
            return
        # The whole body arrives now, before the request opens its database session: a slow
        # client (a big upload on a weak uplink) never keeps a connection or a lock (db.py).
        await request.form
        try:
            await check()
        except CSRFError as error:
            abort(400, description=error.reason)

    app.jinja_env.globals["csrf_token"] = _token_in_page
    templating.register_slot("csrf_token", _token_in_page)


def _token_in_page() -> str:
    """The token, for a template: a page that shows it is this session's alone (page_cache).
    In a fragment kept for everyone, a stand-in, filled when the page is done."""
    if (stand_in := templating.slot("csrf_token")) is not None:
        return stand_in
    g.session_token_used = True
    return token()
