"""Reading htmx request headers and writing htmx response headers.

Views never spell these header names themselves; they go through here.
"""

from __future__ import annotations

import json
from typing import Any

from quart import Response, request


def is_htmx() -> bool:
    """True when htmx sent the request (and so expects a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true"


def is_boosted() -> bool:
    return request.headers.get("HX-Boosted") == "true"


def wants_fragment() -> bool:
    """htmx asked, and not for a whole boosted page."""
    return is_htmx() and not is_boosted()


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


def add_vary(response: Response) -> Response:
    """Pages and fragments share URLs, so caches must key on HX-Request."""
    response.vary.add("HX-Request")
    return response
