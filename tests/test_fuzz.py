"""A fuzz pass over every route: Hypothesis draws query parameters and form fields (the names
the code reads, found in its source and its forms) with hostile values, sends them to every
route as a visitor and as an administrator, and no answer may be a 500.

Bounded (a fixed number of examples, derandomized) so that it costs seconds, and the same
examples every run.
"""

from __future__ import annotations

import inspect
import pkgutil
import re
from importlib import import_module
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart

import hyperpics
from hyperpics import forms
from hyperpics.models import ReportTarget

from .conftest import Tab, make_user
from .factories import add_comment, add_photo, add_report
from .test_policy import fill, rules

# Never-ending responses, and the one route that would end the session being fuzzed.
SKIPPED = {"notifications_stream.stream", "comments.stream", "auth.logout"}


def _query_names() -> list[str]:
    source = "\n".join(path.read_text() for path in Path(hyperpics.__file__).parent.rglob("*.py"))
    return sorted(set(re.findall(r'args\.get\("([a-z_]+)"', source)))


def _form_names() -> list[str]:
    names = {"csrf_token", "ids", "action", "next", "confirmed"}
    for module in pkgutil.iter_modules(forms.__path__):
        for _, form in inspect.getmembers(import_module(f"{forms.__name__}.{module.name}"), inspect.isclass):
            if issubclass(form, forms.BaseForm):
                names.update(name for name in dir(form) if hasattr(getattr(form, name), "field_class"))
    return sorted(names)


HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "1",
        "2147483648",
        "9223372036854775808",
        "1" * 400,
        "²",
        "١٢",
        "1_000",
        "1e9",
        "nan",
        "inf",
        "0x1f",
        "%",
        "%00",
        "\x00",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        '"',
        "../../etc/passwd",
        "//evil.example",
        "javascript:alert(1)",
        "photo-1",
        "comment-²",
        "user-99999999999",
        "a" * 5000,
        "🙂",
        "\u202e",
        "public",
        "private",
        "followers",
        "Administrator",
        "delete",
        "resolve",
        "by_collects",
        "asc",
        "desc",
    ]
)
VALUE = st.one_of(HOSTILE, st.text(max_size=40), st.integers(min_value=-(2**70), max_value=2**70).map(str))


def _fields(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.sampled_from(names), VALUE, max_size=6)


@pytest.fixture
async def world(app: Quart, tab: Tab, new_tab) -> dict[str, Tab]:  # type: ignore[no-untyped-def]
    await make_user(app, tab, "ana", role="Administrator")
    await make_user(app, new_tab(), "bob")
    photo = await add_photo(app, "bob", tags=["sea"])
    comment = await add_comment(app, "bob", photo, "hello")
    await add_report(app, "ana", ReportTarget.COMMENT, comment)
    await tab.get("/")  # ana's CSRF token
    return {"admin": tab, "visitor": new_tab()}


@settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_route_answers_500_whatever_it_is_sent(app: Quart, world: dict[str, Tab], data: st.DataObject) -> None:
    routes = [rule for rule in rules(app, {"GET", "POST"}) if rule.endpoint not in SKIPPED]
    rule = data.draw(st.sampled_from(routes), label="route")
    who = data.draw(st.sampled_from(sorted(world)), label="who")
    tab = world[who]
    url = fill(rule.rule, "bob")
    query = data.draw(_fields(_query_names()), label="query")
    target = f"{url}?{urlencode(query)}" if query else url
    if "POST" in rule.methods and data.draw(st.booleans(), label="post"):
        form = data.draw(_fields(_form_names()), label="form")
        form.setdefault("csrf_token", world["admin"].csrf if who == "admin" else "")
        response = await tab.client.post(target, form=form)
    else:
        response = await tab.client.get(target)
    assert response.status_code < 500, f"{rule.endpoint} {target}: {response.status_code}"
