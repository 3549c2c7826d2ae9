"""Uploading photos in a real browser: progress bar, per-file results, refusals, the pre-check.

Every test registers, confirms and logs in its own random user (only confirmed users may
upload), so the tests share the one ``server`` but nothing else and can run in any order.

The upload page (templates/photos/upload.html, static/js/app.js) is an ``#upload-form`` that
htmx posts as multipart; the answer replaces ``#upload-results`` with one
``li.upload-row.accepted`` or ``li.upload-row.rejected`` per file. Before sending, app.js
checks the chosen files against the form's ``data-max-files`` / ``data-max-bytes``, lists
problems in ``#upload-precheck`` and cancels the request; while sending, it drives
``<progress id="upload-progress">`` from htmx's ``htmx:xhr:progress`` events.
"""

from __future__ import annotations

import io
import random
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, Request, expect

from .conftest import Outbox, Server

PASSWORD = "correct horse battery"

# The app refuses an image whose bytes contain something that looks like markup (a
# "polyglot": see hyperpics/media.py). Compressed noise is random bytes, which sometimes
# contain e.g. "<sVg" by chance (about 1 in 160 of these 1.8 MB JPEGs); fixtures are
# regenerated until they do not, so a refusal here always means a real bug.
# (Same pattern as hyperpics.media._MARKUP.)
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|script|body|iframe|svg|object|embed)\b|javascript:", re.IGNORECASE)

# Throttling for the progress test, in bytes per second (Chrome DevTools Protocol units).
# The three images below are ~5 MB together, so the upload takes about 5 s.
UPLOAD_BYTES_PER_SECOND = 1_000_000
DOWNLOAD_BYTES_PER_SECOND = 2_000_000
LATENCY_MS = 50


# --- a confirmed, logged-in user ------------------------------------------------------------
# The same steps as tests/e2e/test_accounts_browser.py, kept here so this file stands alone.


def unique(prefix: str) -> str:
    """A username nobody has yet (tests share one server and database)."""
    return f"{prefix}_{secrets.token_hex(3)}"


def register_confirm_login(
    page: Page, server: Server, outbox: Outbox, *, prefix: str, name: str, log_in_again: bool = False
) -> str:
    """Register a fresh user and confirm the address through the mailed link.

    Registering is followed by a log-in, so another one is optional: ``log_in_again``
    also logs out and back in with email and password (about 2 s more, as argon2 is slow on
    purpose). Returns the user's email address; the page ends on the home page, logged in.
    """
    username = unique(prefix)
    address = f"{username}@example.com"

    # Register, then log in (unconfirmed).
    page.goto("/auth/register")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    # Sign-up never logs in (its answer is the same for an address that has an account).
    expect(page.locator("#flashes")).to_contain_text("Check your mail")
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_be_visible()

    # Confirm through the link in the mail: it opens a page with a button.
    link = outbox.newest_link(to=address)
    assert link.startswith(server.url + "/auth/confirm/"), link
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.locator("#flashes")).to_contain_text("your email address is confirmed")
    expect(page.locator("#confirm-notice")).to_have_count(0)

    if not log_in_again:
        expect(page.locator("details.user-menu summary")).to_have_text(name)
        return address

    # Log out from the user menu and log in again with email and password.
    menu = page.locator("details.dropdown.user-menu")
    menu.locator("summary", has_text=name).click()
    page.locator("#logout-button").click()
    expect(page.locator(".site-nav").get_by_role("link", name="Log in", exact=True)).to_be_visible()
    page.goto("/auth/login")
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page).to_have_url(server.url + "/")
    expect(page.locator("details.user-menu summary")).to_have_text(name)
    return address


def open_upload_page(page: Page) -> None:
    response = page.goto("/upload")
    assert response is not None and response.status == 200, response and response.status
    expect(page.get_by_role("heading", name="Upload photos")).to_be_visible()
    expect(page.locator("#upload-form")).to_be_visible()
    expect(page.locator("#upload-progress")).to_be_hidden()


# --- test files -------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noisy_jpeg(path: Path, seed: int, size: tuple[int, int] = (2400, 1600)) -> Path:
    """A real JPEG full of colour noise: ~1.8 MB at 2400x1600, so uploads take measurable time."""
    rng = random.Random(seed)
    while True:
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
        data = _encode(image, "JPEG", quality=60)
        if not _MARKUP.search(data):
            path.write_bytes(data)
            return path


def noisy_png(path: Path, seed: int, size: tuple[int, int] = (900, 600)) -> Path:
    """A real PNG (noise does not compress: ~1.6 MB at 900x600)."""
    rng = random.Random(seed)
    while True:
        image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
        data = _encode(image, "PNG")
        if not _MARKUP.search(data):
            path.write_bytes(data)
            return path


def form_limits(page: Page) -> tuple[int, int]:
    """(max files, max bytes per file) as the upload form states them."""
    form = page.locator("#upload-form")
    return int(form.get_attribute("data-max-files") or 0), int(form.get_attribute("data-max-bytes") or 0)


def watch_upload_posts(page: Page) -> list[str]:
    """Record every request to /upload (method + URL) the page makes from now on."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        if request.url.split("?")[0].rstrip("/").endswith("/upload"):
            seen.append(f"{request.method} {request.url}")

    page.on("request", on_request)
    return seen


def mark_window(page: Page) -> None:
    """A JS variable that survives htmx swaps but not a page load."""
    page.evaluate("window.__marker = 1")


def window_survived(page: Page) -> bool:
    return page.evaluate("window.__marker") == 1


# --- the tests -------------------------------------------------------------------------------


def test_upload_three_photos_with_progress(
    page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path], tmp_path: Path
) -> None:
    # 1. A confirmed user opens the upload page.
    register_confirm_login(page, server, outbox, prefix="up", name="Uma Upload", log_in_again=True)
    open_upload_page(page)
    shot("upload-01-form")

    # 2. Three real images: two noisy 2400x1600 JPEGs and a noisy PNG (~5 MB together).
    files = [
        noisy_jpeg(tmp_path / "harbour.jpg", seed=1),
        noisy_jpeg(tmp_path / "market.jpg", seed=2),
        noisy_png(tmp_path / "sketch.png", seed=3),
    ]
    total_bytes = sum(path.stat().st_size for path in files)
    max_files, max_bytes = form_limits(page)
    assert len(files) <= max_files and all(p.stat().st_size <= max_bytes for p in files)
    page.set_input_files("#photos", [str(path) for path in files])
    expect(page.locator("#upload-precheck li")).to_have_count(0)  # within the limits: nothing to say

    # 3. Throttle the network so the upload takes a few seconds and the bar can be watched.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": DOWNLOAD_BYTES_PER_SECOND,
            "uploadThroughput": UPLOAD_BYTES_PER_SECOND,
        },
    )

    # 4. Upload, and sample the progress bar every 100 ms until the results arrive.
    mark_window(page)
    posts = watch_upload_posts(page)
    page.get_by_role("button", name="Upload").click()
    samples: list[tuple[float, bool, float]] = []  # (seconds since click, hidden, value)
    started = time.monotonic()
    mid_upload_shot = False
    while True:
        hidden, value, rows = page.evaluate(
            """() => {
                const bar = document.querySelector('#upload-progress');
                return [bar.hidden, bar.value, document.querySelectorAll('#upload-results li.upload-row').length];
            }"""
        )
        elapsed = time.monotonic() - started
        samples.append((round(elapsed, 2), hidden, value))
        if rows:
            break
        if not mid_upload_shot and not hidden and 30 <= value < 80:
            shot("upload-02-progress")  # the bar half way
            mid_upload_shot = True
        assert elapsed < 40, f"no results after {elapsed:.0f} s; progress samples: {samples}"
        page.wait_for_timeout(100)
    print(f"uploaded {total_bytes} bytes in {elapsed:.1f} s; progress samples (s, hidden, value): {samples}")
    # Back to full speed for the rest of the test (-1 means "no limit").
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # The bar became visible, moved through at least two values strictly between 0 and 100,
    # never went backwards, reached 100 (and "Processing" was said while the server worked),
    # then was put away once the results arrived.
    assert posts == [f"POST {server.url}/upload"], posts
    visible_values = [value for _, hidden, value in samples if not hidden]
    assert visible_values, f"the progress bar never became visible: {samples}"
    intermediate = sorted({value for value in visible_values if 0 < value < 100})
    assert len(intermediate) >= 2, f"the progress bar did not move (values seen: {samples})"
    assert visible_values == sorted(visible_values), f"the progress bar went backwards: {samples}"
    assert 100 in visible_values, f"the progress bar never reached 100: {samples}"
    bar = page.locator("#upload-progress")
    expect(bar).to_be_hidden()
    expect(bar).to_have_js_property("value", 100)
    expect(page.locator("#upload-status")).to_have_text("")

    # 5. Three accepted rows, swapped in without a page load.
    results = page.locator("#upload-results")
    accepted = results.locator("li.upload-row.accepted")
    expect(accepted).to_have_count(3)
    expect(results.locator("li.upload-row.rejected")).to_have_count(0)
    expect(results.get_by_role("heading", level=2)).to_have_text("3 uploaded")
    assert window_survived(page), "the upload reloaded the page"
    expect(page).to_have_url(server.url + "/upload")
    for row, path in zip(accepted.all(), files, strict=True):
        expect(row).to_contain_text(path.name)  # rows come in the order the files were chosen
        image = row.locator("img")
        expect(image).to_have_count(1)
        for attribute in ("width", "height"):
            expect(image).to_have_attribute(attribute, re.compile(r"^[1-9]\d*$"))
        expect(image).to_have_attribute("alt", re.compile(r"\S"))
        expect(image).to_have_attribute("loading", "lazy")
        # Lazy images load only near the viewport: bring each one into view, then make sure
        # the browser really decoded it (a broken src gives naturalWidth 0).
        image.scroll_into_view_if_needed()
        image.evaluate(
            """img => img.complete && img.naturalWidth > 0 ? true : new Promise((ok, fail) => {
                   img.onload = () => ok(true);
                   img.onerror = () => fail(new Error('image failed to load: ' + img.src));
               })"""
        )
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")
        # Each row links to its photo page.
        expect(row.get_by_role("link", name="view photo")).to_have_attribute("href", re.compile(r"^/photo/\d+$"))
    # After a successful upload the form is reset: nothing is chosen any more.
    assert page.locator("#photos").evaluate("input => input.files.length") == 0
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky nav bar lands mid-screenshot
    shot("upload-03-accepted")

    # Optional step: describe the first photo right in its row.
    first = accepted.first
    first.get_by_label("Description").fill("Boats at dusk, from the pier.")
    with page.expect_response(lambda r: "/edit" in r.url and r.request.method == "POST") as answer:
        first.get_by_role("button", name="Save details").click()
    assert answer.value.status == 200, answer.value.status
    expect(first.locator("form.upload-row-form [role=status]")).to_contain_text("Saved")
    expect(first.get_by_label("Description")).to_have_value("Boats at dusk, from the pier.")
    assert window_survived(page), "saving the details reloaded the page"
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky nav bar lands mid-screenshot
    shot("upload-04-details-saved")

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_a_text_file_named_jpg_is_refused_and_the_photo_kept(
    page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path], tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="fk", name="Fay Fake")
    open_upload_page(page)

    good = noisy_jpeg(tmp_path / "real-photo.jpg", seed=11, size=(1200, 800))
    fake = tmp_path / "fake.jpg"
    fake.write_text("This is not a picture, just some words in a file called fake.jpg.\n" * 20)
    page.set_input_files("#photos", [str(good), str(fake)])
    expect(page.locator("#upload-precheck li")).to_have_count(0)  # the pre-check only sees sizes

    mark_window(page)
    with page.expect_response(lambda r: r.url.endswith("/upload") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Upload").click()
    assert answer.value.status == 200, answer.value.status  # one file was accepted

    results = page.locator("#upload-results")
    expect(results.get_by_role("heading", level=2)).to_have_text("1 uploaded, 1 refused")
    accepted = results.locator("li.upload-row.accepted")
    expect(accepted).to_have_count(1)
    expect(accepted).to_contain_text("real-photo.jpg")
    rejected = results.locator("li.upload-row.rejected")
    expect(rejected).to_have_count(1)
    expect(rejected).to_have_attribute("data-reason", "not-an-image")
    expect(rejected).to_contain_text("fake.jpg")
    expect(rejected.locator(".field-error")).to_have_text(re.compile(r"not an image", re.IGNORECASE))
    expect(rejected.locator("img")).to_have_count(0)
    assert window_survived(page), "the upload reloaded the page"
    shot("upload-05-fake-jpg-refused")

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_precheck_stops_too_large_or_too_many_files_before_sending(
    page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path], tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="pc", name="Pia Precheck")
    open_upload_page(page)
    max_files, max_bytes = form_limits(page)
    assert max_files >= 1 and max_bytes >= 1024 * 1024, (max_files, max_bytes)
    posts = watch_upload_posts(page)
    precheck = page.locator("#upload-precheck li")
    mark_window(page)

    # a) One file 1 MB over the per-photo limit (random bytes: the pre-check looks only at sizes).
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(random.Random(21).randbytes(max_bytes + 1024 * 1024))
    page.set_input_files("#photos", str(huge))
    # Listed as soon as it is chosen...
    expect(precheck).to_have_count(1)
    expect(precheck).to_contain_text("huge.jpg")
    expect(precheck).to_contain_text(f"the limit is {max_bytes / 1048576:.1f} MB per photo")
    # ...and checked again when Upload is pressed (empty the list first, to see it refilled),
    # without sending anything.
    page.locator("#upload-precheck").evaluate("list => list.replaceChildren()")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_timeout(500)  # htmx would have started the request at once, had it sent one
    expect(precheck).to_have_count(1)
    expect(precheck).to_contain_text("huge.jpg")
    expect(page.locator("#upload-progress")).to_be_hidden()
    expect(page.locator("#upload-results li")).to_have_count(0)
    assert posts == [], f"the page sent the upload despite the pre-check: {posts}"
    shot("upload-06-precheck-too-large")

    # b) One file more than allowed (tiny text files: the pre-check only counts them).
    many = []
    for number in range(max_files + 1):
        path = tmp_path / f"photo-{number:02}.jpg"
        path.write_bytes(b"not sent")
        many.append(str(path))
    page.set_input_files("#photos", many)
    expect(precheck).to_have_count(1)  # the old message is replaced, not appended to
    expect(precheck).to_have_text(f"{max_files + 1} files chosen; at most {max_files} per upload.")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_timeout(500)
    expect(precheck).to_have_count(1)
    expect(page.locator("#upload-progress")).to_be_hidden()
    expect(page.locator("#upload-results li")).to_have_count(0)
    assert posts == [], f"the page sent the upload despite the pre-check: {posts}"
    assert window_survived(page), "the pre-check reloaded the page"
    shot("upload-07-precheck-too-many")

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
