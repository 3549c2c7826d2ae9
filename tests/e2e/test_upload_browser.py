"""Uploading photos in a real browser: the drop zone, a tile per file with its own progress,
per-file results and refusals, removing a file before sending, fields for every photo.

Every test registers, confirms and logs in its own random user (only confirmed users may
upload), so the tests share the one ``server`` but nothing else and can run in any order.

The upload page (templates/photos/upload.html, static/js/upload.js) is an ``#upload-form``
around a drop zone (``#upload-dropzone``, whose ``#photos`` input is the picker). Each file
chosen or dropped becomes an ``li.upload-tile`` in ``#upload-results`` (preview, name, size,
a ``<progress>``, a Remove button); a file over the form's ``data-max-bytes`` (or past its
``data-max-files``) is marked ``data-state="refused"`` with ``data-reason`` at once and never
sent. Upload sends every other file alone to ``data-upload-url`` (three at a time); the answer
(``li.upload-row.accepted`` or ``li.upload-row.rejected``) takes the tile's place, and
``<progress id="upload-progress">`` shows the bytes of the whole batch.
"""

from __future__ import annotations

import io
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, Request, Route, expect

from .conftest import ARTIFACTS, Outbox, Server
from .helpers import log_in, log_out, mark_window, register_and_confirm, window_survived

# The app refuses an image whose bytes contain something that looks like markup (a
# "polyglot": see hyperpics/media.py). Compressed noise is random bytes, which sometimes
# contain e.g. "<sVg" by chance (about 1 in 160 of these 1.8 MB JPEGs); fixtures are
# regenerated until they do not, so a refusal here always means a real bug.
# (Same pattern as hyperpics.infra.image_checks._MARKUP.)
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|script|body|iframe|svg|object|embed)\b|javascript:", re.IGNORECASE)

# Throttling for the progress test, in bytes per second (Chrome DevTools Protocol units).
# The three images below are ~5 MB together, so the upload takes about 5 s.
UPLOAD_BYTES_PER_SECOND = 1_000_000
DOWNLOAD_BYTES_PER_SECOND = 2_000_000
LATENCY_MS = 50


# --- a confirmed, logged-in user ------------------------------------------------------------


def register_confirm_login(
    page: Page, server: Server, outbox: Outbox, *, prefix: str, name: str, log_in_again: bool = False
) -> str:
    """A fresh confirmed member, logged in (see helpers.register_and_confirm). With
    ``log_in_again`` they also log out and back in with email and password (about 2 s more,
    as argon2 is slow on purpose). Returns the address; the page ends on the home page."""
    address = register_and_confirm(page, server, outbox, prefix=prefix, name=name)
    if log_in_again:
        log_out(page, name)
        log_in(page, address)
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


def one_file_posts(posts: list[str], server: Server) -> list[str]:
    return [post for post in posts if post.startswith(f"POST {server.url}/_/upload?n=")]


def record_progress(page: Page) -> None:
    """From now on, keep in the page every value the overall bar and each file's <progress>
    take, and each tile's states (a MutationObserver sees each change as it happens)."""
    page.evaluate(
        """() => {
            const seen = window.__progress = {overall: [], files: {}, states: {}};
            const bar = document.querySelector('#upload-progress');
            new MutationObserver(() => seen.overall.push([bar.hidden, bar.value]))
                .observe(bar, {attributes: true, attributeFilter: ['value', 'hidden']});
            new MutationObserver(records => {
                for (const record of records) {
                    const tile = record.target.closest('.upload-tile');
                    if (!tile) continue;
                    const name = tile.querySelector('.upload-name').textContent;
                    if (record.target.tagName === 'PROGRESS') {
                        (seen.files[name] ||= []).push([record.target.value, record.target.max]);
                    } else {
                        (seen.states[name] ||= []).push(tile.dataset.state);
                    }
                }
            }).observe(document.querySelector('#upload-results'),
                       {attributes: true, attributeFilter: ['value', 'data-state'], subtree: true});
        }"""
    )


def recorded_progress(page: Page) -> dict:
    return page.evaluate("window.__progress")


def drop_files(page: Page, paths: list[Path], target: str = "#upload-dropzone") -> None:
    """Drag ``paths`` over ``target`` and drop them, as a person dragging files from their
    desktop: the files are read into a helper input of the page (Playwright streams them), a
    DataTransfer is built in the page from them, and real dragenter/dragover/drop events carry it."""
    page.evaluate(
        """() => { const input = document.createElement('input');
                   input.type = 'file'; input.multiple = true; input.id = 'test-drag-source'; input.hidden = true;
                   document.body.append(input); }"""
    )
    page.set_input_files("#test-drag-source", [str(path) for path in paths])
    page.evaluate(
        """target => {
            const source = document.querySelector('#test-drag-source');
            const transfer = new DataTransfer();
            for (const file of source.files) transfer.items.add(file);
            source.remove();
            window.__dragTransfer = transfer;
            const zone = document.querySelector(target);
            for (const type of ['dragenter', 'dragover']) {
                zone.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true, cancelable: true}));
            }
        }""",
        target,
    )
    # Highlighted while the files are over it...
    expect(page.locator(target)).to_have_class(re.compile(r"\bdragover\b"))
    dropped = page.evaluate(
        """target => {
            const event = new DragEvent('drop', {dataTransfer: window.__dragTransfer, bubbles: true, cancelable: true});
            document.querySelector(target).dispatchEvent(event);
            return event.defaultPrevented;
        }""",
        target,
    )
    assert dropped, "the drop zone did not take the drop (the browser would open the file)"
    # ...and no longer once they are dropped.
    expect(page.locator(target)).not_to_have_class(re.compile(r"\bdragover\b"))


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
    # A tile per file, in the order chosen, each ready to send (within the limits: nothing to say).
    tiles = page.locator("#upload-results li.upload-tile")
    expect(tiles).to_have_count(3)
    for tile, path in zip(tiles.all(), files, strict=True):
        expect(tile).to_have_attribute("data-state", "queued")
        expect(tile.locator(".upload-name")).to_have_text(path.name)
    expect(page.locator("#upload-results [data-state=refused]")).to_have_count(0)

    # 3. Throttle the network so the upload takes a few seconds and the bars can be watched.
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

    # 4. Upload, recording every value the bars take until the three results are in.
    mark_window(page)
    posts = watch_upload_posts(page)
    record_progress(page)
    started = time.monotonic()
    page.get_by_role("button", name="Upload").click()
    # (Polled from here: the site's Content-Security-Policy forbids wait_for_function's eval.)
    while page.evaluate("document.querySelector('#upload-progress').value") < 30:
        assert time.monotonic() - started < 40, recorded_progress(page)
        page.wait_for_timeout(50)
    shot("upload-02-progress")  # the bars part way
    results = page.locator("#upload-results")
    expect(results.locator("li.upload-row")).to_have_count(3, timeout=40_000)
    expect(page.locator("#upload-progress")).to_be_hidden()
    elapsed = time.monotonic() - started
    seen = recorded_progress(page)
    samples = seen["overall"]
    print(f"uploaded {total_bytes} bytes in {elapsed:.1f} s; overall bar (hidden, value): {samples}")
    # Back to full speed for the rest of the test (-1 means "no limit").
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )

    # One request per file, none to the multi-file form.
    assert sorted(one_file_posts(posts, server)) == sorted(f"POST {server.url}/_/upload?n={n}" for n in (1, 2, 3)), (
        posts
    )
    assert len(posts) == 3, posts
    # The overall bar became visible, moved through at least two values strictly between 0
    # and 100, never went backwards, reached 100 while the server worked ("Processing"), then
    # was put away once the results arrived.
    visible_values = [value for hidden, value in samples if not hidden]
    assert visible_values, f"the progress bar never became visible: {samples}"
    intermediate = sorted({value for value in visible_values if 0 < value < 100})
    assert len(intermediate) >= 2, f"the progress bar did not move (values seen: {samples})"
    assert visible_values == sorted(visible_values), f"the progress bar went backwards: {samples}"
    assert 100 in visible_values, f"the progress bar never reached 100: {samples}"
    bar = page.locator("#upload-progress")
    expect(bar).to_have_js_property("value", 100)
    expect(page.locator("#upload-status")).to_have_text("")
    # Each file's own bar moved forward to its end, then the file was being processed.
    for path in files:
        values = [value for value, _ in seen["files"][path.name]]
        assert values == sorted(values) and values[-1] == 100, (path.name, values)
        assert {top for _, top in seen["files"][path.name]} == {100}
        states = seen["states"][path.name]
        assert states.index("sending") < states.index("processing"), (path.name, states)

    # 5. Three accepted rows, in the tiles' places, without a page load.
    accepted = results.locator("li.upload-row.accepted")
    expect(accepted).to_have_count(3)
    expect(results.locator("li.upload-row.rejected")).to_have_count(0)
    expect(tiles).to_have_count(0)
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
    # Before sending only sizes are checked: both are ready to go.
    expect(page.locator("#upload-results li.upload-tile[data-state=queued]")).to_have_count(2)

    mark_window(page)
    answers: dict[str, int] = {}
    page.on(
        "response",
        lambda r: answers.__setitem__(r.url.split("?n=")[-1], r.status) if "/_/upload?n=" in r.url else None,
    )
    page.get_by_role("button", name="Upload").click()

    results = page.locator("#upload-results")
    expect(results.get_by_role("heading", level=2)).to_have_text("1 uploaded, 1 refused")
    # Each file had its own answer: 201 for the photo, 415 (not an image) for the text.
    assert answers == {"1": 201, "2": 415}, answers
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


def test_files_over_the_limits_are_marked_at_once_and_never_sent(
    page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path], tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="pc", name="Pia Precheck")
    open_upload_page(page)
    max_files, max_bytes = form_limits(page)
    assert max_files >= 1 and max_bytes >= 1024 * 1024, (max_files, max_bytes)
    posts = watch_upload_posts(page)
    tiles = page.locator("#upload-results li.upload-tile")
    mark_window(page)

    # a) One file 1 MB over the per-photo limit (random bytes: the check looks only at sizes).
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(random.Random(21).randbytes(max_bytes + 1024 * 1024))
    page.set_input_files("#photos", str(huge))
    # Marked as soon as it is chosen, in the server's words...
    expect(tiles).to_have_count(1)
    expect(tiles).to_have_attribute("data-state", "refused")
    expect(tiles).to_have_attribute("data-reason", "too-large")
    expect(tiles).to_contain_text("huge.jpg")
    size = f"{(max_bytes + 1024 * 1024) / 1048576:.1f}"
    expect(tiles.locator(".field-error")).to_have_text(
        f"This file is {size} MB; the limit is {max_bytes // 1048576} MB per photo."
    )
    expect(tiles.locator("progress")).to_have_count(0)
    # ...and Upload sends nothing: there is nothing else to send.
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status")).to_have_text("Choose at least one photo to upload.")
    page.wait_for_timeout(500)  # a request would have started at once, had one been sent
    expect(page.locator("#upload-progress")).to_be_hidden()
    expect(page.locator("#upload-results li.upload-row")).to_have_count(0)
    assert posts == [], f"the page sent a file over the limit: {posts}"
    shot("upload-06-precheck-too-large")
    # Removed from the list with its button.
    page.get_by_role("button", name="Remove huge.jpg").click()
    expect(tiles).to_have_count(0)

    # b) One file more than allowed at a time (tiny text files): the last is marked, the others go.
    many = []
    for number in range(max_files + 1):
        path = tmp_path / f"photo-{number:02}.jpg"
        path.write_bytes(b"not an image")
        many.append(str(path))
    page.set_input_files("#photos", many)
    expect(tiles).to_have_count(max_files + 1)
    refused = page.locator("#upload-results li.upload-tile[data-state=refused]")
    expect(refused).to_have_count(1)
    expect(refused).to_have_attribute("data-reason", "too-many-files")
    expect(refused).to_contain_text(f"photo-{max_files:02}.jpg")
    expect(refused.locator(".field-error")).to_have_text(
        f"Only {max_files} photos per upload; this one will not be sent."
    )
    page.get_by_role("button", name="Upload").click()
    # Every other file went, alone, and came back refused by the server (they are not images).
    expect(page.locator("#upload-results li.upload-row.rejected")).to_have_count(max_files, timeout=30_000)
    expect(page.locator("#upload-results").get_by_role("heading", level=2)).to_have_text(
        f"0 uploaded, {max_files + 1} refused"
    )
    sent = one_file_posts(posts, server)
    assert len(sent) == len(posts) == max_files, posts
    expect(refused).to_have_count(1)  # still there, still not sent
    assert window_survived(page), "the page reloaded"
    shot("upload-07-precheck-too-many")

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


# --- the drop zone, a file at a time ---------------------------------------------------------


def big_png(path: Path, at_least: int) -> Path:
    """A real PNG of colour noise of at least ``at_least`` bytes (noise does not compress)."""
    side = int((at_least / 3) ** 0.5) + 16
    image = Image.frombytes("RGB", (side, side), random.Random(5).randbytes(side * side * 3))
    image.save(path, "PNG", compress_level=1)
    assert path.stat().st_size >= at_least
    return path


def small_photos(tmp_path: Path, count: int, prefix: str, size: tuple[int, int] = (640, 480)) -> list[Path]:
    return [
        noisy_jpeg(tmp_path / f"{prefix}-{number}.jpg", seed=100 + number, size=size) for number in range(1, count + 1)
    ]


def test_five_dropped_files_four_go_and_the_one_too_large_says_why(
    page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path], tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="dz", name="Dora Drop")
    page.emulate_media(color_scheme="dark")  # the other tests' screenshots show the light theme
    page.set_viewport_size({"width": 1366, "height": 900})
    open_upload_page(page)
    max_files, max_bytes = form_limits(page)
    photos = small_photos(tmp_path, 4, "drop")
    big = big_png(tmp_path / "too-big.png", max_bytes + 256 * 1024)
    files = [photos[0], photos[1], big, photos[2], photos[3]]
    assert len(files) <= max_files
    posts = watch_upload_posts(page)
    mark_window(page)

    drop_files(page, files)

    # A tile per file, with its preview, name and size; the big one marked at once.
    tiles = page.locator("#upload-results li.upload-tile")
    expect(tiles).to_have_count(5)
    for tile, path in zip(tiles.all(), files, strict=True):
        expect(tile.locator(".upload-name")).to_have_text(path.name)
        expect(tile.locator(".upload-size")).to_have_text(re.compile(r"^\d+(\.\d)? (KB|MB)$"))
    first_preview = tiles.first.locator(".upload-preview img")
    expect(first_preview).to_be_visible()
    assert first_preview.get_attribute("src").startswith("blob:")
    assert first_preview.evaluate("img => img.naturalWidth") == 640
    too_big = tiles.filter(has_text=big.name)
    expect(too_big).to_have_attribute("data-state", "refused")
    expect(too_big).to_have_attribute("data-reason", "too-large")
    size = f"{big.stat().st_size / 1048576:.1f}"
    expect(too_big.locator(".field-error")).to_have_text(
        f"This file is {size} MB; the limit is {max_bytes // 1048576} MB per photo."
    )
    expect(page.locator("#upload-results li.upload-tile[data-state=queued]")).to_have_count(4)
    shot("upload-08-dropped-tiles-desktop-dark")

    page.get_by_role("button", name="Upload").click()
    results = page.locator("#upload-results")
    accepted = results.locator("li.upload-row.accepted")
    expect(accepted).to_have_count(4, timeout=30_000)
    expect(results.get_by_role("heading", level=2)).to_have_text("4 uploaded, 1 refused")
    # The four, in the order dropped, each with its link, which opens its page; the big one
    # still says why it stayed, and was never sent.
    for row, path in zip(accepted.all(), [p for p in files if p != big], strict=True):
        expect(row).to_contain_text(path.name)
        link = row.get_by_role("link", name="view photo")
        href = link.get_attribute("href") or ""
        assert re.fullmatch(r"/photo/\d+", href), href
        assert page.request.get(server.url + href).status == 200
    expect(too_big).to_have_attribute("data-reason", "too-large")
    expect(results.locator("li")).to_have_count(5)
    assert len(one_file_posts(posts, server)) == len(posts) == 4, posts
    assert window_survived(page), "the upload reloaded the page"
    page.evaluate("window.scrollTo(0, 0)")
    shot("upload-09-dropped-results-desktop-dark")
    page.mouse.move(0, 0)  # not hovering the drop zone
    page.set_viewport_size({"width": 390, "height": 844})
    shot("upload-10-dropped-results-phone-dark")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page is wider than the phone"

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
    assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]


def test_each_file_has_its_own_progress_bar_that_reaches_its_end(
    page: Page, server: Server, outbox: Outbox, tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="pg", name="Paz Progress")
    open_upload_page(page)
    files = small_photos(tmp_path, 4, "bar", size=(900, 700))  # ~0.5 MB each
    page.set_input_files("#photos", [str(path) for path in files])
    for path in files:  # each bar is named after its file, for screen readers
        bar = page.get_by_role("progressbar", name=f"Sending {path.name}")
        expect(bar).to_have_count(1)
        expect(bar).to_have_js_property("value", 0)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": LATENCY_MS,
            "downloadThroughput": -1,
            "uploadThroughput": UPLOAD_BYTES_PER_SECOND,
        },
    )
    record_progress(page)
    page.get_by_role("button", name="Upload").click()
    # Three at a time: the fourth waits its turn.
    expect(page.locator("#upload-results li.upload-tile[data-state=waiting]")).to_have_count(1)
    expect(page.locator("#upload-results li.upload-row.accepted")).to_have_count(4, timeout=40_000)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    seen = recorded_progress(page)
    print(f"per-file progress: {seen['files']}")
    for path in files:
        values = [value for value, _ in seen["files"][path.name]]
        assert values == sorted(values), (path.name, values)  # never backwards
        assert values[-1] == 100 and {top for _, top in seen["files"][path.name]} == {100}, (path.name, values)
        assert any(0 < value < 100 for value in values), (path.name, values)  # it moved, not jumped
        states = seen["states"][path.name]
        assert states[-2:] == ["sending", "processing"], (path.name, states)
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_a_file_removed_before_sending_is_not_sent(page: Page, server: Server, outbox: Outbox, tmp_path: Path) -> None:
    register_confirm_login(page, server, outbox, prefix="rm", name="Remy Remove")
    open_upload_page(page)
    # The picker is reachable from the keyboard, and the zone shows where the focus is.
    page.locator("#photos").focus()
    assert page.evaluate("document.activeElement.id") == "photos"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "photos"
    outline = page.locator("#upload-dropzone").evaluate("zone => getComputedStyle(zone).outlineStyle")
    assert outline == "solid", outline

    files = small_photos(tmp_path, 3, "keep")
    posts = watch_upload_posts(page)
    page.set_input_files("#photos", [str(path) for path in files])
    tiles = page.locator("#upload-results li.upload-tile")
    expect(tiles).to_have_count(3)
    page.get_by_role("button", name=f"Remove {files[1].name}").click()
    expect(tiles).to_have_count(2)
    expect(page.locator("#upload-results")).not_to_contain_text(files[1].name)
    # The focus moves to the next file's button, not back to the top of the page.
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == f"Remove {files[2].name}"
    expect(page.locator("#upload-status")).to_have_text(f"{files[1].name} removed; 2 ready to send.")

    page.get_by_role("button", name="Upload").click()
    accepted = page.locator("#upload-results li.upload-row.accepted")
    expect(accepted).to_have_count(2, timeout=20_000)
    expect(page.locator("#upload-results").get_by_role("heading", level=2)).to_have_text("2 uploaded")
    expect(accepted.nth(0)).to_contain_text(files[0].name)
    expect(accepted.nth(1)).to_contain_text(files[2].name)
    expect(page.locator("#upload-results")).not_to_contain_text(files[1].name)
    assert len(one_file_posts(posts, server)) == len(posts) == 2, posts
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_description_tags_and_visibility_go_with_every_file(
    page: Page, server: Server, outbox: Outbox, tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="tg", name="Tia Tags")
    open_upload_page(page)
    form = page.locator("#upload-form")
    form.get_by_label("Description").fill("A walk by the harbour")
    form.get_by_label("Tags").fill("harbour, blue hour")
    form.get_by_label("Who can see them").select_option("followers")
    files = small_photos(tmp_path, 2, "tagged")
    drop_files(page, files)
    page.get_by_role("button", name="Upload").click()
    accepted = page.locator("#upload-results li.upload-row.accepted")
    expect(accepted).to_have_count(2, timeout=20_000)
    for row in accepted.all():
        expect(row.get_by_label("Description")).to_have_value("A walk by the harbour")
        expect(row.get_by_label("Tags")).to_have_value("harbour, blue hour")
        expect(row.get_by_label("Who can see it")).to_have_value("followers")
        # Each row's form still posts through htmx (upload.js had htmx process it).
        expect(row.locator("form.upload-row-form")).to_have_attribute("hx-post", re.compile(r"/edit\?row=1$"))
    # The photo's page shows them: its tags link to their pages.
    href = accepted.first.get_by_role("link", name="view photo").get_attribute("href")
    page.goto(href or "/")
    expect(page.get_by_text("A walk by the harbour").first).to_be_visible()
    for tag in ("harbour", "blue hour"):
        expect(page.locator("a[href^='/tag/']", has_text=tag).first).to_be_visible()
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_without_javascript_the_plain_form_sends_every_file_with_the_shared_fields(
    page: Page, browser: Browser, server: Server, outbox: Outbox, tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="nj", name="Noa NoScript")
    plain = browser.new_context(base_url=server.url, java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        plain.add_cookies(page.context.cookies())  # the same member, in a browser without JavaScript
        tab = plain.new_page()
        tab.goto("/upload")
        # The plain file input shows (no tiles, no drop handling without the script).
        expect(tab.locator("#photos")).to_be_visible()
        expect(tab.locator("#upload-form")).not_to_have_class(re.compile(r"\benhanced\b"))
        files = small_photos(tmp_path, 2, "plain")
        tab.set_input_files("#photos", [str(path) for path in files])
        form = tab.locator("#upload-form")
        form.get_by_label("Tags").fill("harbour, blue hour")
        form.get_by_label("Who can see them").select_option("private")
        with tab.expect_navigation():
            form.get_by_role("button", name="Upload").click()
        results = tab.locator("#upload-results")
        expect(results.get_by_role("heading", level=2)).to_have_text("2 uploaded")
        accepted = results.locator("li.upload-row.accepted")
        expect(accepted).to_have_count(2)
        for row, path in zip(accepted.all(), files, strict=True):
            expect(row).to_contain_text(path.name)
            expect(row.get_by_label("Tags")).to_have_value("harbour, blue hour")
            expect(row.get_by_label("Who can see it")).to_have_value("private")
        tab.screenshot(path=ARTIFACTS / "upload-11-without-javascript.png", full_page=True)
    finally:
        plain.close()


def test_a_file_whose_connection_drops_is_sent_again(
    page: Page, server: Server, outbox: Outbox, tmp_path: Path
) -> None:
    register_confirm_login(page, server, outbox, prefix="rt", name="Rio Retry")
    open_upload_page(page)
    attempts: dict[str, int] = {}

    def drop_the_first_try(route: Route) -> None:
        number = route.request.url.rsplit("n=", 1)[-1]
        attempts[number] = attempts.get(number, 0) + 1
        if number == "2" and attempts[number] == 1:
            route.abort("connectionreset")  # as a phone losing its signal mid-upload
        else:
            route.continue_()

    page.route(re.compile(r"/_/upload\?n=\d+$"), drop_the_first_try)
    files = small_photos(tmp_path, 2, "retry")
    page.set_input_files("#photos", [str(path) for path in files])
    page.get_by_role("button", name="Upload").click()
    accepted = page.locator("#upload-results li.upload-row.accepted")
    expect(accepted).to_have_count(2, timeout=20_000)
    expect(accepted.nth(1)).to_contain_text(files[1].name)
    expect(page.locator("#upload-results").get_by_role("heading", level=2)).to_have_text("2 uploaded")
    assert attempts == {"1": 1, "2": 2}, attempts
