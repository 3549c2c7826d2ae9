"""Photos as a photo site shows them, in Chromium: grids that keep each photo's shape, explore
loading more as you reach its end, the photo page in reading order on both sizes, and the
full-screen viewer driven by the keyboard."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import Server
from .helpers import log_in, register, unique

SIZES = ((1366, 900), (390, 844))
SHAPES = ((1600, 900), (800, 1200), (1000, 1000), (3000, 1000), (1200, 800))


@pytest.fixture(scope="module")
def author(browser: Browser, server: Server) -> str:
    context = browser.new_context(base_url=server.url)
    try:
        username = unique("lens")
        register(context.new_page(), name="Lens Keeper", email=f"{username}@example.com", username=username)
    finally:
        context.close()
    return username


def add_photos(server: Server, username: str, shapes: tuple[tuple[int, int], ...]) -> list[int]:
    """Public photos of these shapes by ``username``, oldest first, written straight into the
    database (layout and navigation are under test, not the upload)."""
    ids = []
    with sqlite3.connect(server.root / "instance" / "hyperpics.db", timeout=10) as db:
        author_id = db.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]
        start = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
        for index, (width, height) in enumerate(shapes):
            files = [f"{secrets.token_hex(12)}{suffix}.jpg" for suffix in ("", "_m", "_s")]
            when = (start + timedelta(minutes=index)).isoformat(sep=" ")
            ids.append(
                db.execute(
                    "INSERT INTO photos (author_id, description, alt_text, visibility, filename_original,"
                    " filename_medium, filename_small, width, height, can_comment, created_at, shuffle_key)"
                    " VALUES (?, ?, '', 'public', ?, ?, ?, ?, ?, 1, ?, ?)",
                    (author_id, f"shape {width}x{height}", *files, width, height, when, 0.999 - index * 1e-6),
                ).lastrowid
            )
    return ids


def box(page: Page, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return found


def test_grid_cards_keep_each_photos_shape_and_fill_their_rows(browser: Browser, server: Server, author: str) -> None:
    ids = add_photos(server, author, SHAPES)
    for width, height in SIZES:
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(f"/user/{author}")
            grid = box(page, "#tab-items")
            rows: dict[int, list[dict[str, float]]] = {}
            for photo, (w, h) in zip(ids, SHAPES, strict=True):
                image = box(page, f"#photo-card-{photo} > a")
                shown = image["width"] / image["height"]
                capped = min(w / h, 4.0)
                assert abs(shown - capped) / capped < 0.04, (width, photo, shown, capped)  # its shape, not 4:3
                rows.setdefault(round(image["y"]), []).append(image)
            # Every row but the last reaches both edges of the grid, its cards one height.
            ordered = [rows[y] for y in sorted(rows)]
            for row in ordered[:-1]:
                assert abs(min(card["x"] for card in row) - grid["x"]) < 2
                assert abs(max(card["x"] + card["width"] for card in row) - (grid["x"] + grid["width"])) < 2
                assert max(card["height"] for card in row) - min(card["height"] for card in row) < 2
        finally:
            context.close()


def test_explore_loads_more_when_its_end_comes_into_view(browser: Browser, server: Server, author: str) -> None:
    add_photos(server, author, SHAPES * 8)  # 40: more than a page of explore
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 900})
    try:
        page = context.new_page()
        page.goto("/explore")
        cards = page.locator("#explore-grid .photo-card")
        first = cards.count()
        assert first == 18
        page.locator("#load-more").scroll_into_view_if_needed()
        expect(cards).not_to_have_count(first)
        assert cards.count() > first
        ids = [card.get_attribute("id") for card in cards.all()]
        assert len(ids) == len(set(ids))  # no photo twice
        assert page.url.endswith("/explore")  # the address stays the page's
    finally:
        context.close()


def test_the_photo_page_reads_in_order_on_both_sizes(browser: Browser, server: Server, author: str) -> None:
    (photo,) = add_photos(server, author, ((1200, 800),))
    with sqlite3.connect(server.root / "instance" / "hyperpics.db", timeout=10) as db:
        db.execute(
            "INSERT INTO comments (photo_id, author_id, body, created_at)"
            " SELECT ?, id, 'a first comment', ? FROM users WHERE username = ?",
            (photo, datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" "), author),
        )
    viewer = unique("eye")
    for width, height in SIZES:
        context = browser.new_context(base_url=server.url, viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            if width == SIZES[0][0]:
                register(page, name="Eye Witness", email=f"{viewer}@example.com", username=viewer)
            else:
                log_in(page, f"{viewer}@example.com")
                expect(page.get_by_role("heading", name="Hello, Eye Witness.")).to_be_visible()
            page.goto(f"/photo/{photo}")
            order = [".author-bar", ".photo-frame", ".photo-actions", "#photo-details", "#comments"]
            tops = [box(page, selector)["y"] for selector in order]
            assert tops == sorted(tops), (width, dict(zip(order, tops, strict=True)))
            # Tab order agrees: Collect comes before anything in the comments.
            page.locator(".photo-frame a").focus()
            reached = []
            for _ in range(60):
                page.keyboard.press("Tab")
                reached.append(
                    page.evaluate(
                        "() => { const at = document.activeElement;"
                        " return at.closest('#comments') ? 'comments'"
                        " : at.classList.contains('collect-button') ? 'collect' : at.tagName; }"
                    )
                )
                if reached[-1] == "comments":
                    break
            assert "collect" in reached and reached[-1] == "comments", reached
            assert reached.index("collect") < reached.index("comments")
        finally:
            context.close()


def test_the_viewer_moves_with_the_arrow_keys_and_closes_with_escape(page: Page, server: Server, author: str) -> None:
    older, middle, newer = add_photos(server, author, ((1200, 800), (800, 1200), (1000, 1000)))
    page.goto(f"/photo/{middle}")
    page.locator(".photo-actions").get_by_role("link", name="Full screen").click()
    expect(page).to_have_url(f"{server.url}/photo/{middle}/view")
    stage = box(page, ".viewer")
    assert stage["x"] == 0 and stage["y"] == 0 and stage["width"] == 1280  # the whole window
    assert page.evaluate("() => getComputedStyle(document.querySelector('.viewer')).backgroundColor") == "rgb(0, 0, 0)"
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{server.url}/photo/{older}/view")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(f"{server.url}/photo/{middle}/view")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(f"{server.url}/photo/{newer}/view")
    page.keyboard.press("Escape")
    expect(page).to_have_url(f"{server.url}/photo/{newer}")
    assert page.js_errors == []  # type: ignore[attr-defined]
