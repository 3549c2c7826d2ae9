"""Search in a real browser: the nav box's live dropdown, and the plain GET form behind it.

A confirmed user uploads a small photo, describes and tags it in its upload row, then types
part of the tag into the nav search box (templates/partials/nav.html: ``form.nav-search``,
``input[name=q]`` with ``hx-get=/search/suggest``, ``hx-trigger="input changed delay:300ms"``,
target ``#search-suggestions``). The dropdown fills with ``a.suggestion`` links without a
page load; Enter submits the form as a plain GET to ``/search?q=...``, whose photo tab shows
the photo's card.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect

from .conftest import Outbox, Server
from .helpers import mark_window, register_and_confirm, window_survived

TAG = "zebracrossing"
DESCRIPTION = "Black and white stripes on the zebra crossing by the old market."
TYPED = "zebra"
SUGGEST_WITHIN_MS = 2_000  # 300 ms debounce + the request


def tiny_jpeg(path: Path) -> Path:
    image = Image.new("RGB", (64, 48))
    for x in range(64):  # stripes, so it is not one flat colour
        for y in range(48):
            image.putpixel((x, y), (255, 255, 255) if (x // 8) % 2 else (20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


# --- the test ---------------------------------------------------------------------------------


def test_nav_search_suggests_while_typing_and_enter_opens_results(
    page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path], tmp_path: Path
) -> None:
    # 1. A confirmed user uploads a photo, then describes and tags it in its upload row.
    register_and_confirm(page, server, outbox, prefix="zb", name="Zoe Zebra")
    response = page.goto("/upload")
    assert response is not None and response.status == 200, response and response.status
    page.set_input_files("#photos", str(tiny_jpeg(tmp_path / "crossing.jpg")))
    page.get_by_role("button", name="Upload").click()
    row = page.locator("#upload-results li.upload-row.accepted")
    expect(row).to_have_count(1)
    href = row.get_by_role("link", name="view photo").get_attribute("href")
    assert href and re.fullmatch(r"/photo/\d+", href), href
    photo_id = int(href.rsplit("/", 1)[1])

    row.get_by_label("Description").fill(DESCRIPTION)
    row.get_by_label("Tags").fill(TAG)
    with page.expect_response(lambda r: "/edit" in r.url and r.request.method == "POST") as answer:
        row.get_by_role("button", name="Save details").click()
    assert answer.value.status == 200, answer.value.status
    assert answer.value.url.split("?")[0] == f"{server.url}/photo/{photo_id}/edit", answer.value.url  # ?row=1
    expect(row.locator("form.upload-row-form [role=status]")).to_contain_text("Saved")

    # 2. On the home page, type part of the tag into the nav search box.
    page.goto("/")
    box = page.locator("form.nav-search input[name=q]")
    dropdown = page.locator("#search-suggestions")
    expect(box).to_be_visible()
    expect(dropdown.locator("a.suggestion")).to_have_count(0)
    mark_window(page)
    suggests: list[str] = []
    page.on("request", lambda r: suggests.append(r.url) if "/search/suggest" in r.url else None)
    box.click()
    box.type(TYPED, delay=50)
    typed_at = time.monotonic()

    # 3. Within ~2 s the dropdown lists the tag and the photo, without a page load.
    tag_link = dropdown.locator("a.suggestion", has_text=f"#{TAG}")
    photo_link = dropdown.locator(f'a.suggestion[href="/photo/{photo_id}"]')
    expect(tag_link).to_be_visible(timeout=SUGGEST_WITHIN_MS)
    expect(photo_link).to_be_visible(timeout=SUGGEST_WITHIN_MS)
    waited = time.monotonic() - typed_at
    assert waited < SUGGEST_WITHIN_MS / 1000 + 0.5, f"suggestions took {waited:.1f} s"
    expect(photo_link.locator("mark")).to_have_text(re.compile(TYPED, re.IGNORECASE))  # the match is highlighted
    expect(dropdown.locator("a.suggestion.all")).to_have_attribute("href", re.compile(r"/search\?q=zebra$"))
    assert window_survived(page), "typing in the search box reloaded the page"
    expect(page).to_have_url(server.url + "/")
    # Debounced: typing 5 letters 50 ms apart sent one request (at most a couple), for the whole word.
    assert suggests, "no /search/suggest request was sent"
    assert len(suggests) <= 2, suggests
    assert suggests[-1].endswith("q=zebra"), suggests
    shot("search-01-suggestions")

    # 4. Enter submits the form as a plain GET: a new page, /search?q=zebra, with the photo's card.
    with page.expect_navigation():
        box.press("Enter")
    expect(page).to_have_url(server.url + "/search?q=zebra")
    assert not window_survived(page), "Enter did not load the results page"
    card = page.locator(f"#photo-card-{photo_id}")
    expect(card).to_be_visible()
    expect(card.locator(f'a[href="/photo/{photo_id}"] img')).to_have_count(1)
    expect(card.locator(".snippet mark")).to_have_text(re.compile(TYPED, re.IGNORECASE))
    expect(page.locator("#result-count")).to_have_text(re.compile(r"^\d+ results?$"))
    expect(page.locator("form.nav-search input[name=q]")).to_have_value(TYPED)
    shot("search-02-results")

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
