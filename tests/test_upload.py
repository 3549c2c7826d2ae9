"""Uploading photos through HTTP: the results list, limits, permissions, editing, deleting,
and the avatar upload in settings."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hyperpics import create_app
from hyperpics.infra import media
from hyperpics.infra.db import database
from hyperpics.models import Photo, Visibility

from . import images
from .conftest import Page, Tab, fetch_user, make_user, set_user
from .helpers import near
from .html import Element, by_id, count, element, elements, find_id, sole, texts

FORMATS = images.FORMATS


# --- helpers ------------------------------------------------------------------------------


@dataclass
class Row:
    """One file's line in the upload results."""

    accepted: bool
    reason: str
    element: Element

    @property
    def html(self) -> str:
        return self.element.markup

    @property
    def file_name(self) -> str:
        """The file's name as the row shows it."""
        return self.element.select_one("strong").text

    @property
    def message(self) -> str:
        """Why the file was refused ("" when it was not)."""
        errors = [p for p in self.element.select("p.field-error") if p.attrs == {"class": "field-error"}]
        assert len(errors) <= 1, errors
        return errors[0].text if errors else ""


def rows(page: Page) -> list[Row]:
    found = []
    for item in elements(page.text, "li.upload-row"):
        assert item["class"] in ("upload-row accepted", "upload-row rejected"), item.attrs
        found.append(Row("accepted" in item.classes, item.get("data-reason", ""), item))
    return found


async def all_photos(app) -> list[Photo]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list(
            (await session.execute(select(Photo).options(selectinload(Photo.tags)).order_by(Photo.id))).scalars()
        )


def media_files(app, folder: str = media.PHOTOS_DIR) -> list[str]:  # type: ignore[no-untyped-def]
    """Every file under MEDIA_DIR/<folder>, temporary ones included."""
    root = Path(app.config["MEDIA_DIR"]) / folder
    return sorted(os.path.relpath(os.path.join(path, name), root) for path, _, names in os.walk(root) for name in names)


def image_size(app, folder: str, name: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with Image.open(Path(app.config["MEDIA_DIR"]) / folder / name) as image:
        return image.size


async def uploader(app, tab: Tab, name: str = "ana") -> Tab:  # type: ignore[no-untyped-def]
    await make_user(app, tab, name)
    await tab.get("/upload")
    return tab


@pytest.fixture
async def limited_app(app_config, tmp_path):  # type: ignore[no-untyped-def]
    """1 MB per photo, 2 photos per upload, so a request body of at most 3 MB."""
    app_config.update(MAX_UPLOAD_MB=1, MAX_UPLOAD_FILES=2)
    application = create_app(app_config, instance_path=tmp_path / "instance-limited")
    async with application.test_app():
        yield application


# --- the form -----------------------------------------------------------------------------


async def test_upload_page_states_the_limits_and_takes_several_files(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    page = await tab.get("/upload")
    assert page.status == 200
    assert "Up to 30 photos at a time, 20 MB each; " + FORMATS in page.text
    assert "Location and other hidden data are removed" in page.text
    [file_input] = elements(page.text, "input[type=file]")
    assert file_input["name"] == "photos" and file_input.has("multiple")
    for kind in ("image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", "image/heic"):
        assert kind in file_input["accept"].split(",")
    form = by_id(page.text, "upload-form")
    assert form.tag == "form" and (form["method"], form["action"], form["enctype"]) == (
        "post",
        "/upload",
        "multipart/form-data",
    )
    # upload.js sends each file alone to the one-file endpoint; htmx does not post the form.
    assert form["data-upload-url"] == "/_/upload" and not form.has("hx-post")
    assert form["data-max-files"] == "30" and form["data-max-bytes"] == str(20 * 1024 * 1024)
    assert by_id(page.text, "upload-progress").tag == "progress"
    assert by_id(page.text, "upload-results").tag == "section"
    # The fields that go with every photo: description, tags, who sees them (Everyone first).
    assert count(page.text, "textarea[name=description]") >= 1
    assert count(page.text, "input[name=tags]") >= 1
    first_choice = element(page.text, "select[name=visibility]").elements[0]
    assert first_choice.tag == "option" and first_choice.attrs == {"selected": "", "value": "public"}
    assert first_choice.text.startswith("Everyone")
    # The drop zone's script, on this page only, and the tile it fills per file.
    assert any(
        re.fullmatch(r"/static/js/upload\.js\?v=[^\"]+", script["src"]) and script.has("defer")
        for script in elements(page.text, "script[src]")
    )
    tile = by_id(page.text, "upload-tile")
    assert tile.tag == "template" and tile.attrs == {"id": "upload-tile"} and find_id(page.text, "upload-dropzone")
    assert "upload.js" not in (await tab.get("/")).text


async def test_upload_page_shows_configured_limits(limited_app) -> None:
    tab = Tab(limited_app)
    await make_user(limited_app, tab, "ana")
    page = await tab.get("/upload")
    assert "Up to 2 photos at a time, 1 MB each;" in page.text
    assert elements(page.text, f'[data-max-bytes="{1024 * 1024}"]')


# --- good uploads -------------------------------------------------------------------------


async def test_three_good_files_at_once(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await tab.upload(
        "/upload",
        [
            ("beach.jpg", images.jpeg(1600, 1200, (200, 150, 90))),
            ("logo.png", images.png(1000, 500, transparent=True)),
            ("phone.heic", images.heic(900, 600)),
        ],
    )
    assert page.status == 200, page.text
    assert "3 uploaded" in page.text and "refused" not in page.text

    photos = await all_photos(app)
    assert len(photos) == 3
    ana = await fetch_user(app, "ana")
    assert {photo.author_id for photo in photos} == {ana.id}
    assert all(p.visibility == Visibility.PUBLIC for p in photos)

    on_disk = media_files(app)
    assert len(on_disk) == 3 * 7  # each wider than 800 px: original, 400/800/large copies in JPEG (PNG) and WebP
    assert on_disk == sorted(name for photo in photos for name in photo.files())

    found = rows(page)
    assert [row.accepted for row in found] == [True, True, True]
    # Rows come in the order of the files; the photos are matched to them by thumbnail.
    by_thumbnail = {photo.filename_small: photo for photo in photos}
    photos = [
        by_thumbnail[row.element.select_one("img")["src"].removeprefix("/media/photos/").split("?")[0]] for row in found
    ]
    assert [(p.width, p.height) for p in photos] == [(1600, 1200), (1000, 500), (900, 600)]
    assert photos[1].filename_original.endswith(".png")  # transparency kept
    expected = [("beach.jpg", (400, 300)), ("logo.png", (400, 200)), ("phone.heic", (400, 267))]
    for row, photo, (file_name, (width, height)) in zip(found, photos, expected, strict=True):
        img = row.element.select_one("img")
        assert img["src"] == f"/media/photos/{photo.filename_small}?v=public"
        assert (img["width"], img["height"]) == (str(width), str(height))
        assert img.has("alt") and img["loading"] == "lazy"
        assert row.file_name == file_name
        assert row.element.select(f'a[href="/photo/{photo.id}"]')
        # The details form, to describe the photo right away.
        details = row.element.select_one(f"#photo-row-form-{photo.id}")
        assert details.tag == "form" and details["action"] == f"/photo/{photo.id}/edit?row=1"
        for field in ("description", "alt_text", "tags", "visibility"):
            assert details.select(f"[name={field}]"), field
        # The thumbnail is served, and is the 400 px derivative.
        served = await tab.client.get(f"/media/photos/{photo.filename_small}")
        assert served.status_code == 200
        with Image.open(io.BytesIO(await served.get_data())) as thumbnail:
            assert thumbnail.size == (width, height)


async def test_uploaded_location_is_not_served(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await tab.upload("/upload", [("gps.jpg", images.gps_jpeg())])
    assert page.status == 200
    [photo] = await all_photos(app)
    for name in photo.files():
        response = await tab.client.get(f"/media/photos/{name}")
        assert response.status_code == 200
        body = await response.get_data()
        assert images.read_gps(body) == {}
        assert b"Exif" not in body and images.CAMERA_MAKE.encode() not in body


async def test_a_multi_picture_jpeg_is_uploaded_as_its_first_picture(app, tab: Tab) -> None:
    await uploader(app, tab)
    first, second = images.picture(1200, 900, images.RED), images.picture(640, 480, images.BLUE)
    page = await tab.upload("/upload", [("IMG_0001.JPG", images.mpo(first, second))], htmx=True)

    assert page.status == 200, page.text
    assert "1 uploaded" in page.text and "refused" not in page.text
    [photo] = await all_photos(app)
    assert (photo.width, photo.height) == (1200, 900)
    assert media_files(app) == sorted(photo.files())
    served = await tab.client.get(f"/media/photos/{photo.filename_original}")
    body = await served.get_data()
    with Image.open(io.BytesIO(body)) as original:
        assert original.format == "JPEG" and original.size == (1200, 900)
        assert near(original.convert("RGB").getpixel((600, 450)), images.RED)
    assert b"MPF" not in body


# --- bad uploads --------------------------------------------------------------------------


BAD = images.REFUSED


async def _mixed_upload(tab: Tab, *, htmx: bool) -> Page:
    files = [("good.jpg", images.jpeg(1200, 800))]
    files += [(name, make()) for name, make, _, _ in BAD]
    files += [("good.webp", images.webp(800, 800))]
    return await tab.upload("/upload", files, htmx=htmx)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
async def test_mixed_upload_one_verdict_per_file(app, tab: Tab, htmx: bool) -> None:
    await uploader(app, tab)
    page = await _mixed_upload(tab, htmx=htmx)

    assert page.status == 200  # at least one photo was accepted
    assert f"2 uploaded, {len(BAD)} refused" in page.text
    found = rows(page)
    assert len(found) == len(BAD) + 2
    assert found[0].accepted and found[-1].accepted
    assert found[0].file_name == "good.jpg" and found[-1].file_name == "good.webp"
    for row, (name, _, reason, message) in zip(found[1:-1], BAD, strict=True):
        assert not row.accepted
        assert row.reason == reason, (name, row.reason)
        assert row.file_name == name
        assert row.message == message, (name, row.html)
        assert "<img" not in row.html and "<form" not in row.html  # raw: no picture, no form, nothing unescaped

    # Only the two good photos exist, in the database and on disk.
    photos = await all_photos(app)
    assert len(photos) == 2
    assert media_files(app) == sorted(name for photo in photos for name in photo.files())

    if htmx:
        assert page.is_fragment() and page.root_id() == "upload-results"
    else:
        assert "<html" in page.text and find_id(page.text, "upload-form")
        assert by_id(page.text, "upload-results").tag == "section"


async def test_htmx_and_plain_posts_give_the_same_rows(app, tab: Tab) -> None:
    await uploader(app, tab)
    fragment = await _mixed_upload(tab, htmx=True)
    full = await _mixed_upload(tab, htmx=False)
    assert fragment.is_fragment() and fragment.root_id() == "upload-results"
    assert "<html" in full.text and count(full.text, "#upload-results") == 1

    def verdicts(page: Page) -> list[tuple[bool, str, str, str]]:
        """Per row: accepted, reason, the file name shown, the message shown."""
        return [(row.accepted, row.reason, row.file_name, row.message) for row in rows(page)]

    assert len(verdicts(fragment)) == len(BAD) + 2
    assert verdicts(fragment) == verdicts(full)
    # The fragment is the results section alone (htmx swaps it in with outerHTML).
    results = sole(fragment.text)
    assert results.tag == "section" and results.id == "upload-results"


async def test_nothing_but_bad_files_is_422(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await tab.upload("/upload", [("a.jpg", images.text_as_jpeg()), ("b.svg", images.svg())], htmx=True)
    assert page.status == 422
    assert "0 uploaded, 2 refused" in page.text
    assert [row.reason for row in rows(page)] == ["not-an-image", "svg"]
    assert await all_photos(app) == []
    assert media_files(app) == []


async def test_file_names_are_escaped_in_the_rows(app, tab: Tab) -> None:
    await uploader(app, tab)
    # (No double quote: browsers send it as %22 in the multipart header.)
    hostile = "<img src=x onerror=alert(1)>.jpg"
    page = await tab.upload("/upload", [(hostile, images.text_as_jpeg()), ("ok.jpg", images.jpeg())], htmx=True)
    assert page.status == 200
    assert "<img src=x onerror" not in page.text
    assert hostile in texts(page.text, "strong")  # shown as text: escaped
    # Also in the thumbnail's alt text of an accepted photo.
    page = await tab.upload("/upload", [(hostile, images.jpeg())], htmx=True)
    assert page.status == 200 and "onerror=alert(1)>" not in page.text


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
async def test_nothing_chosen(app, tab: Tab, htmx: bool) -> None:
    await uploader(app, tab)
    # No file part at all, then the empty part a browser sends for an empty file input.
    for files in ([], [("", b"")]):
        page = await tab.upload("/upload", files, htmx=htmx)
        assert page.status == 422
        assert "Choose at least one photo to upload." in page.text
        assert rows(page) == []
        assert page.is_fragment() == htmx
    assert await all_photos(app) == []
    assert media_files(app) == []


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
async def test_sparse_and_incomplete_images_are_refused_with_their_message(app, tab: Tab, htmx: bool) -> None:
    await uploader(app, tab)
    sparse = images.sparse_png()  # 39.6 MP in under 5 KB
    page = await tab.upload(
        "/upload", [("blank.png", sparse), ("claims-40mp.jpg", images.jpeg_claiming(6000, 6600))], htmx=htmx
    )

    assert page.status == 422
    assert "0 uploaded, 2 refused" in page.text
    sparse_row, short_row = rows(page)
    assert not sparse_row.accepted and sparse_row.reason == "too-sparse"
    assert sparse_row.file_name == "blank.png"
    sparse_message = (
        f"This image claims 39.5 megapixels but the file holds only {len(sparse) / 1024:.1f} KB;"
        " above 4 megapixels an image needs at least 1 KB per megapixel."
    )
    assert sparse_row.message == sparse_message
    assert not short_row.accepted and short_row.reason == "damaged"
    assert short_row.file_name == "claims-40mp.jpg"
    assert short_row.message == "This image is damaged or incomplete."
    assert await all_photos(app) == []
    assert media_files(app) == []


# --- limits -------------------------------------------------------------------------------


async def test_files_beyond_max_upload_files_are_refused(limited_app) -> None:
    tab = Tab(limited_app)
    await uploader(limited_app, tab)
    files = [(f"p{i}.jpg", images.jpeg(500, 400, (40 * i, 90, 90))) for i in range(1, 5)]
    page = await tab.upload("/upload", files, htmx=True)

    assert page.status == 200
    found = rows(page)
    assert [row.accepted for row in found] == [True, True, False, False]
    for row, name in zip(found[2:], ("p3.jpg", "p4.jpg"), strict=True):
        assert row.reason == "too-many-files"
        assert row.file_name == name
        assert "Only 2 photos per upload; this one was not sent on." in row.html
    photos = await all_photos(limited_app)
    assert len(photos) == 2
    assert len(media_files(limited_app)) == sum(len(photo.files()) for photo in photos) == 2 * 5


async def test_a_file_over_max_upload_mb_is_refused_with_its_size(limited_app) -> None:
    tab = Tab(limited_app)
    await uploader(limited_app, tab)
    big = images.noise_png(700, 700)
    assert 1.3 * 1024 * 1024 < len(big) < 1.6 * 1024 * 1024
    page = await tab.upload("/upload", [("big.png", big), ("small.jpg", images.jpeg())], htmx=True)

    assert page.status == 200
    big_row, small_row = rows(page)
    assert small_row.accepted
    assert not big_row.accepted and big_row.reason == "too-large"
    size = f"{len(big) / 1_048_576:.1f}"
    assert f"This file is {size} MB; the limit is 1 MB per photo." in big_row.html
    [photo] = await all_photos(limited_app)
    assert media_files(limited_app) == sorted(photo.files())


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_a_body_over_max_content_length_is_413(limited_app, htmx: bool) -> None:
    tab = Tab(limited_app)
    await uploader(limited_app, tab)
    assert limited_app.config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    files = [(f"n{i}.png", images.noise_png(540, 540, seed=i)) for i in range(4)]
    assert sum(len(body) for _, body in files) > 3 * 1024 * 1024
    page = await tab.upload("/upload", files, htmx=htmx)

    assert page.status == 413
    # Readable, and it says what the limits are.
    assert "What you sent is larger than this site accepts" in page.text
    assert "1 MB per photo" in page.text and "2 photos at a time" in page.text
    assert "Traceback" not in page.text and "RequestEntityTooLarge" not in page.text
    if htmx:
        assert page.is_fragment() and elements(page.text, '[data-status="413"]')
        assert page.headers["HX-Retarget"] == "#flashes"
    else:
        assert "<html" in page.text and elements(page.text, '[class="error-page"]')
        shown = element(page.text, "p.error-code")
        assert shown.attrs == {"class": "error-code"} and shown.text == "413"
    assert await all_photos(limited_app) == []
    assert media_files(limited_app) == []


# --- who may upload -----------------------------------------------------------------------


async def test_anonymous_is_sent_to_log_in(app, tab: Tab) -> None:
    page = await tab.get("/upload")
    assert page.status == 302 and page.location == "/auth/login?next=/upload"
    page = await tab.upload("/upload", [("a.jpg", images.jpeg())])
    assert page.status in (302, 303) and page.location.startswith("/auth/login")
    assert await all_photos(app) == [] and media_files(app) == []


async def test_unconfirmed_user_is_asked_to_confirm(app, tab: Tab) -> None:
    await make_user(app, tab, "ana", confirmed=False)
    page = await tab.get("/upload")
    assert page.status == 403 and "Please confirm your email address first." in page.text
    page = await tab.upload("/upload", [("a.jpg", images.jpeg())])
    assert page.status == 403 and "confirm your email" in page.text
    assert await all_photos(app) == [] and media_files(app) == []


async def test_locked_user_is_told_the_account_is_locked(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await set_user(app, "ana", role="Locked", locked=True)
    page = await tab.get("/upload")
    assert page.status == 403 and "Your account is locked" in page.text
    page = await tab.upload("/upload", [("a.jpg", images.jpeg())], htmx=True)
    assert page.status == 403 and "locked" in page.text
    assert await all_photos(app) == [] and media_files(app) == []


# --- after the upload: details, files, deleting -------------------------------------------


async def _one_photo(app, tab: Tab, **kwargs: Any) -> Photo:  # type: ignore[no-untyped-def]
    await uploader(app, tab, **kwargs)
    page = await tab.upload("/upload", [("p.jpg", images.jpeg(1000, 750))], htmx=True)
    assert page.status == 200, page.text
    [photo] = await all_photos(app)
    return photo


async def test_details_saved_through_the_row_form(app, tab: Tab) -> None:
    photo = await _one_photo(app, tab)
    page = await tab.post(
        f"/photo/{photo.id}/edit?row=1",
        {
            "description": "  Evening at the beach ",
            "alt_text": "Orange sky over a calm sea",
            "tags": "sunset #Beach, film sunset",
            "visibility": "followers",
        },
        htmx=True,
    )
    assert page.status == 200, page.text
    assert page.is_fragment() and page.root_id() == f"photo-row-form-{photo.id}"
    assert "Saved" in page.text
    assert "Evening at the beach" in page.text and elements(page.text, '[value="Orange sky over a calm sea"]')
    assert element(page.text, "option[value=followers]").has("selected")

    [saved] = await all_photos(app)
    assert saved.description == "Evening at the beach"
    assert saved.alt_text == "Orange sky over a calm sea"
    assert saved.visibility == Visibility.FOLLOWERS
    # Commas separate tags of several words; "#" starts a tag of its own.
    assert sorted(tag.name for tag in saved.tags) == ["beach", "film sunset", "sunset"]


async def test_row_form_shows_errors_and_saves_nothing(app, tab: Tab) -> None:
    photo = await _one_photo(app, tab)
    page = await tab.post(
        f"/photo/{photo.id}/edit?row=1",
        {"description": "x" * 501, "alt_text": "", "tags": "ok", "visibility": "public"},
        htmx=True,
    )
    assert page.status == 422 and page.root_id() == f"photo-row-form-{photo.id}"
    assert "A description has at most 500 characters." in page.text and "Saved" not in page.text
    [saved] = await all_photos(app)
    assert saved.description == "" and saved.tags == []


async def test_private_photo_files_are_served_only_to_the_author(app, tab: Tab, new_tab) -> None:
    photo = await _one_photo(app, tab)
    anonymous = new_tab()
    for name in photo.files():
        assert (await anonymous.client.get(f"/media/photos/{name}")).status_code == 200
    await tab.post(
        f"/photo/{photo.id}/edit?row=1",
        {"description": "", "alt_text": "", "tags": "", "visibility": "private"},
        htmx=True,
    )
    for name in photo.files():
        assert (await anonymous.client.get(f"/media/photos/{name}")).status_code == 404
        mine = await tab.client.get(f"/media/photos/{name}")
        assert mine.status_code == 200 and "private" in mine.headers["Cache-Control"]


async def test_stems_cannot_be_mistaken_for_derivative_names(app, tab: Tab) -> None:
    """ "<stem>_m.jpg" must always be the medium copy of "<stem>.jpg": stems have no "_"."""
    photo = await _one_photo(app, tab)
    stem = photo.filename_original.rsplit(".", 1)[0]
    assert re.fullmatch(r"[0-9a-f]{32}", stem), stem
    assert photo.filename_medium == f"{stem}_m.jpg" and photo.filename_small == f"{stem}_s.jpg"
    for name in photo.files():
        response = await tab.client.get(f"/media/photos/{name}")
        assert response.status_code == 200, name


async def test_deleting_a_photo_removes_its_files_and_row(app, tab: Tab) -> None:
    photo = await _one_photo(app, tab)
    other = await tab.upload("/upload", [("keep.jpg", images.jpeg(640, 480))], htmx=True)
    assert other.status == 200
    kept = [p for p in await all_photos(app) if p.id != photo.id][0]
    assert len(media_files(app)) == 7 + 5  # original; 400, 800 (and, 1000 px wide, large) copies in JPEG and WebP

    page = await tab.post(f"/photo/{photo.id}/delete")
    assert page.status == 303

    assert [p.id for p in await all_photos(app)] == [kept.id]
    assert media_files(app) == sorted(kept.files())
    assert (await tab.get(f"/photo/{photo.id}")).status == 404
    assert (await tab.client.get(f"/media/photos/{photo.filename_small}")).status_code == 404


async def test_someone_else_cannot_delete_a_photo(app, tab: Tab, new_tab) -> None:
    photo = await _one_photo(app, tab)
    bruno = await make_user(app, new_tab(), "bruno")
    page = await bruno.post(f"/photo/{photo.id}/delete")
    assert page.status == 403
    assert len(await all_photos(app)) == 1 and len(media_files(app)) == 7


# --- avatar -------------------------------------------------------------------------------


def quadrants(width: int = 400, height: int = 200) -> bytes:
    """Top-left RED, top-right GREEN, bottom-left BLUE, bottom-right WHITE."""
    image = Image.new("RGB", (width, height), images.WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=images.RED)
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=images.GREEN)
    draw.rectangle((0, height // 2, width // 2 - 1, height - 1), fill=images.BLUE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def avatar_colour(app, name: str) -> tuple:  # type: ignore[no-untyped-def]
    with Image.open(Path(app.config["MEDIA_DIR"]) / media.AVATARS_DIR / name) as image:
        rgb = image.convert("RGB")
        return rgb.getpixel((rgb.width // 2, rgb.height // 2))


async def test_avatar_upload_replaces_the_files(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    before = (await fetch_user(app, "ana")).avatar_files()
    assert sorted(before) == media_files(app, media.AVATARS_DIR)  # the identicon from sign-up

    await tab.get("/settings/avatar")
    page = await tab.upload(
        "/settings/avatar", [("me.png", quadrants())], {"x": "50", "y": "50", "size": "50"}, field="image"
    )
    assert page.status == 303 and page.location == "/settings/avatar"

    ana = await fetch_user(app, "ana")
    after = ana.avatar_files()
    assert set(after).isdisjoint(before)
    assert media_files(app, media.AVATARS_DIR) == sorted(after)  # the old three are gone
    assert [
        image_size(app, media.AVATARS_DIR, name) for name in (ana.avatar_small, ana.avatar_medium, ana.avatar_large)
    ] == [
        (30, 30),
        (100, 100),
        (200, 200),
    ]
    # x=50%, y=50%, size=50% of the shorter side: the bottom-right quadrant.
    for name in after:
        assert near(avatar_colour(app, name), images.WHITE), name
    shown = await tab.get("/settings/avatar")
    assert "Your avatar is updated." in shown.text
    assert f"/media/avatars/{ana.avatar_large}" in shown.text
    served = await tab.client.get(f"/media/avatars/{ana.avatar_large}")
    assert served.status_code == 200


async def test_avatar_without_a_crop_uses_the_centred_square(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    # Left third RED, middle GREEN, right third BLUE: the centred square is all green.
    picture = Image.new("RGB", (300, 100), images.GREEN)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, 0, 99, 99), fill=images.RED)
    draw.rectangle((200, 0, 299, 99), fill=images.BLUE)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")

    await tab.get("/settings/avatar")
    page = await tab.upload("/settings/avatar", [("wide.png", buffer.getvalue())], field="image")
    assert page.status == 303
    ana = await fetch_user(app, "ana")
    assert near(avatar_colour(app, ana.avatar_large), images.GREEN), avatar_colour(app, ana.avatar_large)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_avatar_non_image_is_422_and_keeps_the_old_files(app, tab: Tab, htmx: bool) -> None:
    await make_user(app, tab, "ana")
    before = (await fetch_user(app, "ana")).avatar_files()
    await tab.get("/settings/avatar")
    page = await tab.upload("/settings/avatar", [("me.jpg", images.text_as_jpeg())], field="image", htmx=htmx)

    assert page.status == 422
    assert "This file is not an image." in page.text
    assert find_id(page.text, "avatar-form")
    assert page.is_fragment() == htmx
    assert (await fetch_user(app, "ana")).avatar_files() == before
    assert media_files(app, media.AVATARS_DIR) == sorted(before)


async def test_avatar_too_sparse_is_422_and_keeps_the_old_files(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    before = (await fetch_user(app, "ana")).avatar_files()
    await tab.get("/settings/avatar")
    page = await tab.upload("/settings/avatar", [("me.png", images.sparse_png())], field="image")

    assert page.status == 422
    assert "This image claims 39.5 megapixels but the file holds only" in page.text
    assert "above 4 megapixels an image needs at least 1 KB per megapixel." in page.text
    assert (await fetch_user(app, "ana")).avatar_files() == before
    assert media_files(app, media.AVATARS_DIR) == sorted(before)


async def test_avatar_without_a_file_is_422(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    before = (await fetch_user(app, "ana")).avatar_files()
    await tab.get("/settings/avatar")
    page = await tab.upload("/settings/avatar", [], field="image")
    assert page.status == 422 and "Choose a picture." in page.text
    assert media_files(app, media.AVATARS_DIR) == sorted(before)


# --- the hourly allowance ------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_uploads_past_the_hourly_allowance_are_refused_saying_when_it_resets(
    app, monkeypatch, htmx: bool
) -> None:  # type: ignore[no-untyped-def]
    """No per-member upload rate once let one member make the server decode without end."""
    from hyperpics.web import ratelimit

    monkeypatch.setattr(ratelimit, "UPLOADS", ratelimit.Limit("uploads", 3, 3600, "photos uploaded", per_address=False))
    app.config["RATE_LIMITS_ENABLED"] = True
    tab = await uploader(app, Tab(app))
    first = await tab.upload("/upload", [(f"a{i}.jpg", images.jpeg(64, 48)) for i in range(2)], htmx=htmx)
    assert first.status == 200 and len(await all_photos(app)) == 2

    too_many = await tab.upload("/upload", [(f"b{i}.jpg", images.jpeg(64, 48)) for i in range(2)], htmx=htmx)
    assert too_many.status == 429
    assert "You can upload only 1 more photo this hour (at most 3 an hour)." in too_many.text
    assert "The limit resets in 60 minutes." in too_many.text
    assert 0 < int(too_many.headers["Retry-After"]) <= 3600
    assert len(await all_photos(app)) == 2 and len(media_files(app)) == 2 * 5

    assert (await tab.upload("/upload", [("c.jpg", images.jpeg(64, 48))], htmx=htmx)).status == 200
    spent = await tab.upload("/upload", [("d.jpg", images.jpeg(64, 48))], htmx=htmx)
    assert spent.status == 429 and "You can upload no more photos this hour" in spent.text
    # Another member has an allowance of their own.
    other = await uploader(app, Tab(app), "bob")
    assert (await other.upload("/upload", [("e.jpg", images.jpeg(64, 48))], htmx=htmx)).status == 200
