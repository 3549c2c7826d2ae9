"""Numbers from the query string and headers, read once here with their bounds
(infra/numbers.py): a view asks for ``page()`` or ``row_id("reply")``, never ``int()``."""

from __future__ import annotations

from quart import request

from ..infra import numbers


def page(name: str = "page") -> int:
    """``?page=N`` (or another name), 1 when it is missing or not a page number."""
    return numbers.page_number(request.args.get(name))


def row_id(name: str) -> int | None:
    """``?<name>=<id>``, or None when it is missing or not an id."""
    return numbers.row_id(request.args.get(name))


def last_event_id(*, query_name: str | None = None) -> int | None:
    """A stream's Last-Event-ID header (or, when ``query_name`` is given and the header is
    missing, that query argument): a notification or comment id, 0, or None."""
    value = request.headers.get("Last-Event-ID")
    if not value and query_name is not None:
        value = request.args.get(query_name)
    return numbers.event_id(value)
