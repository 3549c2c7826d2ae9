"""How pages look, in a real browser, by computed styles and bounding boxes.

Dark mode: the device's prefers-color-scheme for everyone, and a member's own choice from the
user menu, applied at once and kept after a reload (it is saved on the account, and the server
sets data-theme on <html>). Layout: what Pico's defaults once spread or squared."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from .conftest import Server
from .helpers import mark_window, register, unique, window_survived

LIGHT_PAGE = "rgb(246, 247, 249)"  # --hp-bg, light
DARK_PAGE = "rgb(14, 17, 23)"  # --hp-bg, dark
LIGHT_TEXT = "rgb(29, 35, 48)"  # --hp-text, light
DARK_TEXT = "rgb(230, 233, 239)"  # --hp-text, dark


def colours(page: Page) -> tuple[str, str]:
    """The page's background and text colours, as the browser computed them."""
    found = page.evaluate(
        "() => { const style = getComputedStyle(document.body); return [style.backgroundColor, style.color]; }"
    )
    return found[0], found[1]


def theme_attribute(page: Page) -> str | None:
    return page.evaluate("() => document.documentElement.getAttribute('data-theme')")


def choose(page: Page, label: str) -> None:
    menu = page.locator("details.dropdown.user-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    page.locator(".theme-switch").get_by_role("button", name=label, exact=True).click()


def test_anonymous_visitors_get_their_devices_scheme(browser: Browser, server: Server) -> None:
    for scheme, page_colour, text_colour in (("light", LIGHT_PAGE, LIGHT_TEXT), ("dark", DARK_PAGE, DARK_TEXT)):
        context = browser.new_context(base_url=server.url, color_scheme=scheme)  # type: ignore[arg-type]
        try:
            page = context.new_page()
            page.goto("/explore")
            assert theme_attribute(page) is None
            assert colours(page) == (page_colour, text_colour), scheme
        finally:
            context.close()


def test_a_member_switches_to_dark_and_it_stays_after_a_reload(page: Page, shot: Callable[[str], Path]) -> None:
    page.emulate_media(color_scheme="light")
    username = unique("dusk")
    register(page, name="Dusk Member", email=f"{username}@example.com", username=username)
    page.goto("/explore")
    assert colours(page) == (LIGHT_PAGE, LIGHT_TEXT)

    mark_window(page)
    choose(page, "Dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert window_survived(page), "the switch reloaded the page instead of applying the theme in place"
    expect(page.locator(".theme-switch button[aria-pressed=true]")).to_have_text("Dark")
    page.wait_for_function(f"() => getComputedStyle(document.body).backgroundColor === '{DARK_PAGE}'")
    assert colours(page) == (DARK_PAGE, DARK_TEXT)
    shot("theme-dark-explore")

    page.reload()  # saved on the account: the server renders it
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert colours(page) == (DARK_PAGE, DARK_TEXT)
    page.goto("/settings/profile")
    assert colours(page) == (DARK_PAGE, DARK_TEXT)

    # "Auto" hands the choice back to the device, which prefers light here.
    choose(page, "Auto")
    page.wait_for_function("() => !document.documentElement.hasAttribute('data-theme')")
    page.reload()
    assert theme_attribute(page) is None
    assert colours(page) == (LIGHT_PAGE, LIGHT_TEXT)


def test_the_switch_works_without_javascript(browser: Browser, server: Server) -> None:
    context = browser.new_context(base_url=server.url, java_script_enabled=False, color_scheme="light")
    try:
        page = context.new_page()
        username = unique("nojs")
        register(page, name="No Script", email=f"{username}@example.com", username=username)
        page.goto("/explore")
        choose(page, "Dark")  # a plain form post, answered with a redirect back here
        expect(page).to_have_url(f"{server.url}/explore")
        assert theme_attribute(page) == "dark"
        assert colours(page) == (DARK_PAGE, DARK_TEXT)
    finally:
        context.close()


def test_the_theme_switch_fits_in_the_menu_and_the_search_box_is_a_pill(browser: Browser, server: Server) -> None:
    """At desktop and phone sizes: the switch's buttons lie inside the open menu, and both
    ends of the nav's search box are rounded (Pico squared the right one)."""
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            username = unique("fit")
            register(page, name="Fit Check", email=f"{username}@example.com", username=username)
            page.goto("/explore")
            box = page.locator(".nav-search input[type=search]")
            radii = box.evaluate(
                "e => { const s = getComputedStyle(e); return [s.borderTopLeftRadius, s.borderTopRightRadius,"
                " s.borderBottomLeftRadius, s.borderBottomRightRadius]; }"
            )
            assert "0px" not in radii, (width, radii)
            page.locator("details.dropdown.user-menu > summary").click()
            menu = page.locator("details.user-menu > summary + ul").bounding_box()
            assert menu is not None
            for button in page.locator(".theme-switch button").all():
                inside = button.bounding_box()
                assert inside is not None
                assert menu["x"] <= inside["x"] and inside["x"] + inside["width"] <= menu["x"] + menu["width"], width
            assert menu["x"] >= 0 and menu["x"] + menu["width"] <= width, (width, menu)  # on screen
        finally:
            context.close()


def _tagged_photo(server: Server) -> int:
    """A public photo with a new tag, written straight into the server's database (the page's
    layout is under test, not the upload); the tag's id."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    name = f"tide{secrets.token_hex(3)}"
    with sqlite3.connect(server.root / "instance" / "hyperpics.db", timeout=10) as db:
        author = db.execute("SELECT id FROM users ORDER BY id LIMIT 1").fetchone()[0]
        files = [f"{secrets.token_hex(12)}{suffix}.jpg" for suffix in ("", "_m", "_s")]
        photo = db.execute(
            "INSERT INTO photos (author_id, description, alt_text, visibility, filename_original, filename_medium,"
            " filename_small, width, height, can_comment, created_at) VALUES (?, 'low tide', '', 'public', ?, ?, ?,"
            " 1200, 800, 1, ?)",
            (author, *files, now),
        ).lastrowid
        tag = db.execute("INSERT INTO tags (name, created_at) VALUES (?, ?)", (name, now)).lastrowid
        db.execute("INSERT INTO photo_tags (photo_id, tag_id) VALUES (?, ?)", (photo, tag))
    assert tag is not None
    return tag


def test_the_tag_pages_order_links_sit_beside_the_count(browser: Browser, server: Server) -> None:
    """Pico spreads a <nav>'s items across the row: "1 photo ·", "Newest" and "Most collected"
    were pushed to the row's ends."""
    register_page = browser.new_context(base_url=server.url)
    try:
        username = unique("tide")
        register(register_page.new_page(), name="Tide Watcher", email=f"{username}@example.com", username=username)
    finally:
        register_page.close()
    tag_id = _tagged_photo(server)
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"/tag/{tag_id}")
            bar = page.get_by_role("navigation", name="Order")
            count = bar.locator("span.muted").bounding_box()
            newest = bar.get_by_role("link", name="Newest").bounding_box()
            collected = bar.get_by_role("link", name="Most collected").bounding_box()
            assert count and newest and collected
            assert newest["x"] - (count["x"] + count["width"]) < 24, (count, newest)
            assert collected["x"] - (newest["x"] + newest["width"]) < 24, (newest, collected)
        finally:
            context.close()
