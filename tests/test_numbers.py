"""Numbers from outside are parsed in one place (hyperpics/numbers.py), with bounds.

Fuzzing once found 56 answers of 500 in 5,267 requests: ids past 2**63 in paths, ``before=``,
``reply=``, ``reply_to`` and ``ids``; ``isdigit()`` taking "²" (Last-Event-ID, admin ids); a
5,000-character media file name.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from quart import Quart
from werkzeug.routing import IntegerConverter

from hyperpics.infra import numbers
from hyperpics.models import ReportTarget

from .conftest import Tab, make_user
from .factories import add_comment, add_photo, add_report
from .test_policy import rules

HOSTILE = ["9223372036854775808", "99999999999999999999999", "²", "١٢", "1_000", " 1", "+1", "-1", "0x10", "1e3", ""]


@pytest.mark.parametrize("value", HOSTILE + ["0", "2147483648"])
def test_only_ascii_digits_in_range_are_ids(value: str) -> None:
    assert numbers.row_id(value) is None


def test_ids_and_pages_in_range() -> None:
    assert numbers.row_id("1") == 1 and numbers.row_id(str(numbers.MAX_ID)) == numbers.MAX_ID
    assert numbers.page_number("7") == 7 and numbers.page_number("²") == 1 and numbers.page_number(None, 3) == 3
    assert numbers.event_id("0") == 0 and numbers.event_id("²") is None


def test_every_int_in_a_route_is_a_bounded_id(app: Quart) -> None:
    assert app.url_map.converters["int"] is numbers.IdConverter
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():  # noqa: SLF001 (werkzeug keeps them there)
            if isinstance(converter, IntegerConverter):
                assert isinstance(converter, numbers.IdConverter), f"{rule.rule}: {name}"


def test_no_view_parses_a_number_itself() -> None:
    """int() and isdigit() on request data live in numbers.py only."""
    package = Path(numbers.__file__).resolve().parent
    offenders = []
    for folder in ("views", "partials", "forms"):
        for path in (package / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                    if name in {"int", "float", "isdigit", "isdecimal", "isnumeric"}:
                        offenders.append(f"{path.relative_to(package)}:{node.lineno} {name}()")
    assert offenders == []


async def test_huge_and_odd_ids_in_every_path_are_404(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana", role="Administrator")
    checked = 0
    for rule in rules(app, {"GET", "POST"}):
        if "<int:" not in rule.rule:
            continue
        for value in ("9223372036854775808", "99999999999", "2147483648", "0"):
            url = re.sub(r"<int:[a-z_]+>", value, rule.rule)
            url = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?[a-z_]+>", "photos", url)
            method = "POST" if "POST" in rule.methods else "GET"
            page = await (tab.post(url, {"confirmed": "1"}) if method == "POST" else tab.get(url))
            assert page.status in (404, 405), f"{method} {url}: {page.status}"  # no rule matches it as an id
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize("value", HOSTILE)
async def test_numbers_in_queries_forms_and_headers_never_fail(app: Quart, tab: Tab, value: str) -> None:
    await make_user(app, tab, "ana", role="Administrator")
    photo = await add_photo(app, "ana")
    comment = await add_comment(app, "ana", photo, "hello")
    await add_report(app, "ana", ReportTarget.COMMENT, comment)
    raw, value = value, quote(value)  # as a browser sends it
    pages = [
        f"/?before={value}",
        f"/?before={value}_1",
        f"/?before=1.000000_{value}",
        f"/explore?page={value}",
        f"/photo/{photo}?reply={value}",
        f"/photo/{photo}?page={value}",
        f"/_/photos/{photo}/comments?page={value}",
        f"/_/photos/{photo}/comments?reply={value}",
        f"/search?q=a&page={value}",
        f"/notifications?page={value}",
        f"/admin/users?page={value}",
        f"/user/ana?page={value}",
        f"/_/notifications/stream?last_event_id={value}",
        f"/media/photos/{value}.jpg",
        f"/media/avatars/{value}_30.png",
        "/media/photos/" + "a" * 5000 + ".jpg",
        "/media/avatars/" + "b" * 5000 + ".png",
    ]
    for url in pages:
        if "stream" in url:
            continue  # a stream never ends; its id is checked below
        page = await tab.get(url)
        assert page.status < 500, f"GET {url}: {page.status}"
    value = raw
    forms = [
        (f"/_/photos/{photo}/comments", {"body": "hi", "reply_to": value}),
        ("/notifications/1/read", {"ids": value}),
        ("/_/admin/comments/bulk", {"ids": value, "action": "delete", "confirmed": "1"}),
        ("/_/admin/reports/bulk", {"ids": f"comment-{value}", "action": "dismiss", "confirmed": "1"}),
        ("/settings/avatar", {"x": value, "y": value, "size": value}),
    ]
    for url, form in forms:
        page = await tab.post(url, form)
        assert page.status < 500, f"POST {url} {form}: {page.status}"
    assert numbers.event_id(value) is None
