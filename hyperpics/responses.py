"""How views answer: whole pages, or one block of the same template when htmx asks.

A page template defines its swappable parts as ``{% block %}``s; the same markup serves
the first paint and every later swap (jinja2-fragments renders one block).

Each answer ends the request's write phase before it renders (:func:`db.end_write_phase`):
what the view wrote is committed (or, for an error status, rolled back) first, so no lock
is held while a template renders.
"""

from __future__ import annotations

from typing import Any

from quart import Response, current_app, get_flashed_messages, redirect, request

from . import db, htmx
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
    return htmx.add_vary(await current_app.make_response((body, status)))


async def fragment_html(html: str, status: int = 200) -> Response:
    """An already rendered fragment (from a cache), with pending flashes out of band."""
    await db.end_write_phase(status)
    body = html + await _oob_flashes()
    return htmx.add_vary(await current_app.make_response((body, status)))


async def page(template: str, status: int = 200, *, block: str | None = None, **context: Any) -> Response:
    """The whole page, or just ``block`` of it when htmx (not boosted) asked."""
    await db.end_write_phase(status)
    if block is not None and htmx.wants_fragment():
        body = await render_block(template, block, **context) + await _oob_flashes()
    else:
        body = await render_template(template, **context)
    return htmx.add_vary(await current_app.make_response((body, status)))


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
    return redirect(safe_next(form.get("next") or referer_path, default), 303)


async def see_other(url: str) -> Response:
    """After a successful post: 303 for a browser, a client-side redirect for htmx."""
    if htmx.is_htmx():
        return htmx.redirect(await current_app.make_response(("", 200)), url)
    return redirect(url, 303)
