"""The colour scheme: a member's choice is saved on their account and set on <html>; without
one (anonymous visitors, "Auto") the device's prefers-color-scheme decides."""

from __future__ import annotations

import json
import re

from quart import Quart

from .conftest import Tab, fetch_user, make_user
from .html import element


def html_tag(text: str) -> dict[str, str]:
    """The attributes of the page's <html> element (where the scheme is set)."""
    return element(text, "html").attrs


def pressed(text: str) -> list[str]:
    """The theme buttons the user menu shows as chosen."""
    return re.findall(r'name="theme" value="(\w+)" aria-pressed="true"', text)


async def test_a_member_picks_dark_and_every_later_page_is_dark(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    first = await tab.get("/explore")
    assert html_tag(first.text) == {"lang": "en"}  # "system" by default: the device decides
    assert pressed(first.text) == ["system"]

    saved = await tab.post("/settings/theme", {"theme": "dark", "next": "/explore"})
    assert saved.status == 303 and saved.location == "/explore"
    user = await fetch_user(app, "ana")
    assert user is not None and user.theme == "dark"
    for path in ("/explore", "/", "/settings/profile"):
        page = await tab.get(path)
        assert html_tag(page.text) == {"lang": "en", "data-theme": "dark"}, path
        assert pressed(page.text) == ["dark"], path

    await tab.post("/settings/theme", {"theme": "system", "next": "/"})
    page = await tab.get("/")
    assert html_tag(page.text) == {"lang": "en"} and pressed(page.text) == ["system"]


async def test_htmx_gets_no_body_and_an_event_naming_the_theme(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    answer = await tab.post("/settings/theme", {"theme": "light"}, htmx=True)
    assert answer.status == 204 and answer.text == ""
    assert json.loads(answer.headers["HX-Trigger"]) == {"theme-changed": "light"}
    user = await fetch_user(app, "ana")
    assert user is not None and user.theme == "light"
    assert html_tag((await tab.get("/")).text) == {"lang": "en", "data-theme": "light"}


async def test_an_unknown_theme_is_refused_and_nothing_changes(app: Quart, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    for value in ("purple", "", "dark "):
        answer = await tab.post("/settings/theme", {"theme": value}, htmx=True)
        assert answer.status == 422, value
        assert "Choose one of: light, dark, system." in answer.text
    user = await fetch_user(app, "ana")
    assert user is not None and user.theme == "system"


async def test_anonymous_visitors_follow_their_device_and_cannot_save_one(app: Quart, tab: Tab) -> None:
    page = await Tab(app).get("/")
    assert html_tag(page.text) == {"lang": "en"} and "theme-switch" not in page.text
    refused = await tab.post("/settings/theme", {"theme": "dark"})
    assert refused.status in (302, 303) and "/auth/login" in (refused.location or "")


async def test_each_member_gets_their_own_theme_from_the_kept_navs(app: Quart, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    await make_user(app, tab, "ana")
    bruno = await make_user(app, new_tab(), "bruno")
    await tab.post("/settings/theme", {"theme": "dark"})
    assert pressed((await tab.get("/explore")).text) == ["dark"]
    assert pressed((await bruno.get("/explore")).text) == ["system"]
