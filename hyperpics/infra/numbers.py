"""Every number that comes from a request (a path, a query string, a form, a header) is
parsed here, with bounds, and anything else is "no number".

``int()`` alone took "²" after ``str.isdigit()`` said yes, took "١٢" and "1_000", and passed
values past 2**63 on to the database, which answered with an error page. Here a number is
ASCII digits only, short enough to parse cheaply, within its range.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import IntegerConverter

# Primary keys are INTEGER: 32 bits on PostgreSQL (SQLite would take 64).
MAX_ID = 2**31 - 1
MAX_PAGE = 1_000_000
_MAX_DIGITS = 10


def whole_number(value: Any, *, low: int, high: int) -> int | None:
    """``value`` as an int if it is 1 to 10 ASCII digits between ``low`` and ``high``."""
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if low <= number <= high else None


# A float as Python writes it (repr) between 0 and 1: "0.4213", "1.0", "7.5e-05".
_FRACTION = re.compile(r"\d(?:\.\d{1,24})?(?:e-\d{2,3})?")


def fraction(value: Any) -> float | None:
    """A number from 0 to 1 as :func:`repr` writes a float (explore's positions), or None."""
    if not isinstance(value, str) or _FRACTION.fullmatch(value) is None or not value.isascii():
        return None
    number = float(value)
    return number if 0.0 <= number <= 1.0 else None


def row_id(value: Any) -> int | None:
    """An id of a row: 1 to MAX_ID."""
    return whole_number(value, low=1, high=MAX_ID)


def page_number(value: Any, default: int = 1) -> int:
    """``?page=N``, or ``default`` when it is missing or not a page number."""
    number = whole_number(value, low=1, high=MAX_PAGE)
    return default if number is None else number


def event_id(value: Any) -> int | None:
    """A stream's Last-Event-ID: a notification id, or 0 (nothing seen yet)."""
    return whole_number(value, low=0, high=MAX_ID)


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits, 1 to MAX_ID; anything else does not match (404)."""

    regex = rf"[0-9]{{1,{_MAX_DIGITS}}}"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
