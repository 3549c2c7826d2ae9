"""How views answer: whole pages, or one block of the same template when htmx asks.

A page template defines its swappable parts as ``{% block %}``s; the same markup serves
the first paint and every later swap (jinja2-fragments renders one block).

Each answer ends the request's write phase before it renders (:func:`db.end_write_phase`):
what the view wrote is committed (or, for an error status, rolled back) first, so no lock
is held while a template renders.
"""

from __future__ import annotations

import copy
from typing import Any, cast

from quart import Quart, Response, current_app, get_flashed_messages, redirect, request
from quart.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from quart.wrappers import BaseRequestWebsocket
from quart.wrappers.response import DataBody, FileBody
from werkzeug.wrappers import Response as WerkzeugResponse

from ..infra import db
from . import htmx
from .cookies import BadSignature, VerifiedCookies
from .templating import render_block, render_template


async def _oob_flashes() -> str:
    messages = get_flashed_messages(with_categories=True)
    if not messages:
        return ""
    return await render_template("partials/flashes.html", messages=messages, oob=True)


async def fragment(template: str, status: int = 200, **context: Any) -> Response:
    """A fragment template, plus any pending flash messages swapped in out of band."""
    await db.end_write_phase(status)
    body = await render_template(template, **context) + await _oob_flashes()
    return htmx.add_vary(cast(Response, await current_app.make_response((body, status))))


async def fragment_html(html: str, status: int = 200) -> Response:
    """An already rendered fragment (from a cache), with pending flashes out of band."""
    await db.end_write_phase(status)
    body = html + await _oob_flashes()
    return htmx.add_vary(cast(Response, await current_app.make_response((body, status))))


async def page(template: str, status: int = 200, *, block: str | None = None, **context: Any) -> Response:
    """The whole page, or just ``block`` of it when htmx (not boosted) asked."""
    await db.end_write_phase(status)
    if block is not None and htmx.wants_fragment():
        body = await render_block(template, block, **context) + await _oob_flashes()
    else:
        body = await render_template(template, **context)
    return htmx.add_vary(cast(Response, await current_app.make_response((body, status))))


async def back(default: str) -> Response:
    """After a plain form post from a component: 303 to the page it was on.

    The form's ``next`` field says where that was; the Referer (same site only) is the fallback.
    """
    from urllib.parse import urlsplit

    from .auth import safe_next

    form = await request.form
    referer = urlsplit(request.headers.get("Referer", ""))
    referer_path = ""
    if referer.netloc == request.host:
        referer_path = referer.path + (f"?{referer.query}" if referer.query else "")
    return cast(Response, redirect(safe_next(form.get("next") or referer_path, default), 303))


async def see_other(url: str) -> Response:
    """After a successful post: 303 for a browser, a client-side redirect for htmx."""
    if htmx.is_htmx():
        return htmx.redirect(cast(Response, await current_app.make_response(("", 200))), url)
    return cast(Response, redirect(url, 303))


def without_body_for_head(response: Response) -> Response:
    """A file's answer to HEAD: the same headers (Content-Length included), and no body, so
    no file is read for it (the server would drop those bytes anyway)."""
    if request.method == "HEAD":
        length = response.content_length
        response.response = response.iterable_body_class([])
        response.content_length = length
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Quart's signed-cookie sessions, without ``Vary: Cookie`` on answers marked ``public``.

    Quart 0.23 reads the session itself after every view, which counts as an access, so every
    answer said ``Vary: Cookie``: browsers then fetch a file cached for a year again whenever
    the session cookie changes (a flash message, a login). An answer we mark ``public`` (static
    files, public photos, avatars) is the same whoever asks, so it does not vary by cookie.
    """

    def __init__(self) -> None:
        self._verified = VerifiedCookies()

    async def open_session(self, app: Quart, request: BaseRequestWebsocket) -> SecureCookieSession | None:
        """Quart's, with the signature of a cookie value checked once (cookies.VerifiedCookies)."""
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie or not app.secret_key:
            return await super().open_session(app, request)
        max_age = app.permanent_session_lifetime.total_seconds()
        try:
            data = self._verified.loads(cookie, max_age, lambda: self.get_signing_serializer(app))  # type: ignore[arg-type,return-value]
        except BadSignature:
            return self.session_class()
        return self.session_class(copy.deepcopy(data))  # the session may change its lists in place

    async def save_session(
        self, app: Quart, session: SessionMixin, response: Response | WerkzeugResponse | None
    ) -> None:
        shared = response is not None and response.cache_control.public and not session.modified
        await super().save_session(app, session, response)
        if shared and response is not None:
            # (HeaderSet.discard misses "Cookie": werkzeug 3.1 compares it with lowered names.)
            response.vary = [name for name in response.vary if name.lower() != "cookie"]


def _from_start(begin: int, size: int) -> int:
    """Where a byte range starts. Quart passes a suffix range ("bytes=-500": the last 500
    bytes, begin -500) through as it is: a file answered 500, data a wrong Content-Range."""
    return max(size + begin, 0) if begin < 0 else begin


class _FileBody(FileBody):
    # Quart reads 8 KiB per chunk, two thread hops each: 0.6 s of CPU for a 20 MB photo;
    # 64 KiB chunks (Starlette's size) take a tenth of that.
    buffer_size = 64 * 1024

    async def make_conditional(self, begin: int, end: int | None) -> int:
        return await super().make_conditional(_from_start(begin, self.size), end)


class _DataBody(DataBody):
    async def make_conditional(self, begin: int, end: int | None) -> int:
        return await super().make_conditional(_from_start(begin, len(self.data)), end)


class AppResponse(Response):
    """Quart's response: files (send_file) stream in larger chunks, and suffix byte ranges
    are answered."""

    file_body_class = _FileBody
    data_body_class = _DataBody
