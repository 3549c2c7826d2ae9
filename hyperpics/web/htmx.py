"""Reading htmx request headers and writing htmx response headers.

Views never spell these header names themselves; they go through here.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from quart import Response, request

# What makes htmx ask for another rendering of the same URL (a block, links back to a page).
_RENDERING_HEADERS = ("HX-Request", "HX-Boosted", "HX-Target", "HX-Current-URL", "HX-History-Restore-Request")


def rendering_headers() -> tuple[str | None, ...]:
    """This request's values of the headers that change what is rendered for its URL (part
    of a kept page's key)."""
    return tuple(request.headers.get(name) for name in _RENDERING_HEADERS)


def is_htmx() -> bool:
    """True when htmx sent the request (and so expects a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def is_boosted() -> bool:
    return request.headers.get("HX-Boosted") == "true"


def wants_fragment() -> bool:
    """htmx asked, and not for a whole boosted page."""
    return is_htmx() and not is_boosted()


def current_url() -> tuple[str, str]:
    """The path and query of the page htmx asked from (``HX-Current-URL``); empty strings when
    it did not say. Not checked: callers make it a safe local path (auth.safe_next)."""
    parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    return parts.path, parts.query


def triggering_field() -> str | None:
    """The name of the input that fired the request (``HX-Trigger-Name``)."""
    return request.headers.get("HX-Trigger-Name")


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Fire a client-side event after the swap; several calls merge."""
    existing = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(existing) if existing else {}
    events[event] = detail if detail is not None else True
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def redirect(response: Response, url: str) -> Response:
    """Make htmx do a full client-side navigation to ``url``."""
    response.headers["HX-Redirect"] = url
    return response


def push_url(response: Response, url: str) -> Response:
    response.headers["HX-Push-Url"] = url
    return response


def retarget(response: Response, selector: str, swap: str | None = None) -> Response:
    response.headers["HX-Retarget"] = selector
    if swap:
        response.headers["HX-Reswap"] = swap
    return response


def retarget_headers(selector: str, swap: str) -> dict[str, str]:
    """The headers that send an answer to ``selector`` (swapped with ``swap``), for an answer
    that is not a Response yet (an error page's body, status and headers)."""
    return {"HX-Retarget": selector, "HX-Reswap": swap}


VARY = "HX-Request"  # what pages and fragments of one URL differ by


def add_vary(response: Response) -> Response:
    """Pages and fragments share URLs, so caches must key on HX-Request."""
    response.vary.add(VARY)
    return response
