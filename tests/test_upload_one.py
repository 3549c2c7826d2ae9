"""Uploading one file at a time (/_/upload, what upload.js sends each file of a batch to), and
the fields that go with every photo of an upload (description, tags, who sees them), with
and without JavaScript."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from hyperpics.infra.db import database
from hyperpics.models import Tag, Visibility

from . import images
from .conftest import Page, Tab, make_user
from .html import Element, by_id, element, elements, find_id
from .test_upload import FORMATS, all_photos, limited_app, media_files, rows, uploader  # noqa: F401 (fixture)

ONE = "/_/upload"


async def send_one(tab: Tab, name: str, body: bytes, number: int = 1, htmx: bool = True, **fields: str) -> Page:
    return await tab.upload(f"{ONE}?n={number}", [(name, body)], fields, htmx=htmx)


# --- accepted -------------------------------------------------------------------------------


async def test_one_photo_is_201_with_its_row_and_the_shared_details(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await send_one(
        tab,
        "beach.jpg",
        images.jpeg(1600, 1200),
        number=7,
        description="  Low tide ",
        tags="sunset, blue hour",
        visibility="followers",
    )

    assert page.status == 201, page.text
    [photo] = await all_photos(app)
    assert page.headers["Location"] == f"/photo/{photo.id}"
    # The row alone, the same markup the multi-file form lists; its id is the file's place.
    assert page.is_fragment() and page.root_id() == "upload-row-7"
    [row] = rows(page)
    assert row.accepted and row.file_name == "beach.jpg"
    assert row.element.select(f'a[href="/photo/{photo.id}"]')
    assert row.element.select_one("img")["src"] == f"/media/photos/{photo.filename_small}?v=followers"
    # Its details form shows what the photo now carries.
    assert_details(
        row.element.select_one(f"form#photo-row-form-{photo.id}"), "Low tide", "sunset, blue hour", "followers"
    )

    assert photo.description == "Low tide" and photo.visibility == Visibility.FOLLOWERS
    assert sorted(tag.name for tag in photo.tags) == ["blue hour", "sunset"]
    assert media_files(app) == sorted(photo.files())


async def test_without_details_a_photo_is_public_and_bare(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await send_one(tab, "p.jpg", images.jpeg())
    assert page.status == 201
    [photo] = await all_photos(app)
    assert photo.visibility == Visibility.PUBLIC and photo.description == "" and photo.tags == []


async def test_a_plain_post_gets_the_upload_page_with_the_row(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await send_one(tab, "p.jpg", images.jpeg(), number=2, htmx=False, tags="harbour")
    assert page.status == 201
    assert "<html" in page.text and find_id(page.text, "upload-form")
    assert "1 uploaded" in page.text
    [row] = rows(page)
    assert row.accepted and find_id(page.text, "upload-row-1")  # the page numbers its own list


async def test_a_batch_sent_a_file_at_a_time_shares_its_tags(app, tab: Tab) -> None:
    await uploader(app, tab)
    for number in range(1, 4):
        page = await send_one(tab, f"p{number}.jpg", images.jpeg(300, 200), number=number, tags="film, harbour")
        assert page.status == 201, page.text
    photos = await all_photos(app)
    assert [sorted(tag.name for tag in photo.tags) for photo in photos] == [["film", "harbour"]] * 3
    async with database(app).session(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Tag)) == 2  # each tag once


# --- refused --------------------------------------------------------------------------------


REFUSED = [
    ("holiday.jpg", images.text_as_jpeg, 415, "not-an-image", "This file is not an image."),
    ("drawing.svg", images.svg, 415, "svg", f"SVG drawings are not accepted; upload a photo ({FORMATS})."),
    ("old.bmp", images.bmp, 415, "unsupported-format", f"BMP images are not accepted; use {FORMATS}."),
    ("cut.jpg", images.truncated_jpeg, 422, "damaged", "This image is damaged or incomplete."),
    ("nothing.jpg", images.empty, 422, "empty", "The file is empty."),
    (
        "huge.png",
        images.huge_png,
        422,
        "too-many-pixels",
        "This image has too many pixels; the limit is 40 megapixels.",
    ),
    (
        "polyglot.jpg",
        images.polyglot_jpeg,
        422,
        "polyglot",
        "This file hides web page code inside the image; it was refused.",
    ),
]


@pytest.mark.parametrize(("name", "make", "status", "reason", "message"), REFUSED, ids=[r[3] for r in REFUSED])
async def test_a_refused_file_gets_its_status_reason_and_message(
    app,
    tab: Tab,
    name: str,
    make,
    status: int,
    reason: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    await uploader(app, tab)
    page = await send_one(tab, name, make(), number=4, tags="kept, nowhere")

    assert page.status == status, page.text
    assert page.is_fragment() and page.root_id() == "upload-row-4"
    [row] = rows(page)
    assert not row.accepted and row.reason == reason
    assert row.file_name == name
    assert row.message == message
    assert "<form" not in row.html and "<img" not in row.html  # raw: no form, no picture, nothing unescaped
    # Nothing is left behind: no row, no file, not even the tags it was to carry.
    assert await all_photos(app) == [] and media_files(app) == []
    async with database(app).session(write=False) as session:
        assert await session.scalar(select(func.count()).select_from(Tag)) == 0


async def test_a_file_over_max_upload_mb_is_413_with_its_size(limited_app) -> None:  # noqa: F811
    tab = Tab(limited_app)
    await uploader(limited_app, tab)
    big = images.noise_png(700, 700)  # 1.3 to 1.6 MB: over the 1 MB per photo, within the body limit
    page = await send_one(tab, "big.png", big)
    assert page.status == 413
    [row] = rows(page)
    assert row.reason == "too-large"
    assert f"This file is {len(big) / 1_048_576:.1f} MB; the limit is 1 MB per photo." in row.html
    assert await all_photos(limited_app) == [] and media_files(limited_app) == []


async def test_a_body_over_one_photo_is_413_before_it_is_read(limited_app) -> None:  # noqa: F811
    tab = Tab(limited_app)
    await uploader(limited_app, tab)
    bigger = b"".join(images.noise_png(700, 700, seed=i) for i in range(2))  # over 1 MB + 1 MB of room
    assert len(bigger) > 2 * 1024 * 1024
    page = await send_one(tab, "two-in-one.png", bigger)
    assert page.status == 413
    assert elements(page.text, '[data-status="413"]') and "at most 1 MB per photo" in page.text
    assert await all_photos(limited_app) == [] and media_files(limited_app) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": "x" * 501}, "A description has at most 500 characters."),
        ({"tags": "ok, <script>"}, "“<script>” is not a valid tag"),
        ({"visibility": "everyone-and-their-dog"}, "Choose who can see the photo."),
    ],
    ids=["description", "tags", "visibility"],
)
async def test_bad_shared_details_refuse_the_file_before_it_is_decoded(app, tab: Tab, fields, message: str) -> None:  # type: ignore[no-untyped-def]
    await uploader(app, tab)
    page = await send_one(tab, "fine.jpg", images.jpeg(), **fields)
    assert page.status == 422
    [row] = rows(page)
    assert row.reason == "details" and row.file_name == "fine.jpg"
    assert html.escape(message) in row.html
    assert await all_photos(app) == [] and media_files(app) == []


async def test_no_file_or_several_files_are_422(app, tab: Tab) -> None:
    await uploader(app, tab)
    page = await tab.upload(ONE, [], htmx=True)
    assert page.status == 422 and "Choose a photo to upload." in page.text and rows(page)[0].reason == "no-file"
    page = await tab.upload(ONE, [("a.jpg", images.jpeg()), ("b.jpg", images.jpeg())], htmx=True)
    assert page.status == 422 and "Send one photo at a time here." in page.text
    assert await all_photos(app) == [] and media_files(app) == []


# --- who may, and from where ----------------------------------------------------------------


async def test_the_csrf_token_is_required(app, tab: Tab) -> None:
    await uploader(app, tab)
    token = tab.csrf
    # No token at all.
    response = await tab.client.post(ONE, headers={"HX-Request": "true"}, form={"tags": "a"})
    assert response.status_code == 400
    # A wrong one.
    tab.csrf = "not-the-token"
    page = await send_one(tab, "p.jpg", images.jpeg())
    assert page.status == 400 and "Reload the page and try again." in page.text
    # The right one, from another site.
    response = await tab.client.post(
        ONE, headers={"Origin": "https://evil.example", "HX-Request": "true"}, form={"csrf_token": token}
    )
    assert response.status_code == 400
    assert await all_photos(app) == [] and media_files(app) == []
    tab.csrf = token
    assert (await send_one(tab, "p.jpg", images.jpeg())).status == 201


async def test_anonymous_and_unconfirmed_members_cannot_upload(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    page = await send_one(tab, "a.jpg", images.jpeg(), htmx=False)
    assert page.status in (302, 303) and page.location.startswith("/auth/login")
    page = await send_one(tab, "a.jpg", images.jpeg())  # upload.js says so from this header
    assert page.headers["HX-Redirect"].startswith("/auth/login")
    unconfirmed = new_tab()
    await make_user(app, unconfirmed, "una", confirmed=False)
    page = await send_one(unconfirmed, "a.jpg", images.jpeg())
    assert page.status == 403 and "confirm your email" in page.text
    assert await all_photos(app) == [] and media_files(app) == []


# --- the hourly allowance counts photos, not requests ---------------------------------------


async def test_a_batch_of_twenty_sent_one_by_one_fits_the_hourly_allowance(app) -> None:  # type: ignore[no-untyped-def]
    from hyperpics.web import ratelimit

    app.config["RATE_LIMITS_ENABLED"] = True
    tab = await uploader(app, Tab(app))
    for number in range(1, 21):
        page = await send_one(tab, f"p{number}.jpg", images.jpeg(64, 48), number=number)
        assert page.status == 201, (number, page.text)
    assert len(await all_photos(app)) == 20
    # A refused file costs nothing of the allowance.
    assert (await send_one(tab, "x.jpg", images.text_as_jpeg())).status == 415
    author = (await all_photos(app))[0].author_id
    async with app.app_context():
        left, _ = await ratelimit.allowance(ratelimit.UPLOADS, str(author))
    assert left == ratelimit.UPLOADS.count - 20


async def test_past_the_allowance_a_file_is_429_and_says_when_it_resets(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hyperpics.web import ratelimit

    monkeypatch.setattr(ratelimit, "UPLOADS", ratelimit.Limit("uploads", 2, 3600, "photos uploaded", per_address=False))
    app.config["RATE_LIMITS_ENABLED"] = True
    tab = await uploader(app, Tab(app))
    for number in (1, 2):
        assert (await send_one(tab, f"p{number}.jpg", images.jpeg(64, 48))).status == 201
    page = await send_one(tab, "p3.jpg", images.jpeg(64, 48))
    assert page.status == 429
    assert "You can upload no more photos this hour (at most 2 an hour)." in page.text
    assert 0 < int(page.headers["Retry-After"]) <= 3600
    kept = await all_photos(app)
    assert len(kept) == 2 and media_files(app) == sorted(name for photo in kept for name in photo.files())


# --- the shared fields without JavaScript ---------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_the_multi_file_form_applies_the_shared_fields_to_every_photo(app, tab: Tab, htmx: bool) -> None:
    await uploader(app, tab)
    page = await tab.upload(
        "/upload",
        [("a.jpg", images.jpeg(640, 480)), ("bad.jpg", images.text_as_jpeg()), ("b.png", images.png(300, 300))],
        {"description": "Harbour walk", "tags": "#harbour film", "visibility": "private"},
        htmx=htmx,
    )
    assert page.status == 200, page.text
    assert "2 uploaded, 1 refused" in page.text
    photos = await all_photos(app)
    assert len(photos) == 2
    for photo in photos:
        assert photo.description == "Harbour walk" and photo.visibility == Visibility.PRIVATE
        assert sorted(tag.name for tag in photo.tags) == ["film", "harbour"]
    accepted = [row for row in rows(page) if row.accepted]
    for row in accepted:  # each row's form starts from what the photo carries
        assert_details(row.element.select_one("form"), "Harbour walk", "harbour, film", "private")
    if not htmx:  # the page keeps what was typed for the next upload
        assert element(by_id(page.text, "upload-form"), "textarea[name=description]").text == "Harbour walk"


def assert_details(form: Element, description: str, tags: str, visibility: str) -> None:
    """A row's details form shows what its photo carries."""
    assert form.select_one("textarea[name=description]").text == description
    assert form.select_one("input[name=tags]")["value"] == tags
    [chosen] = [option for option in form.select("select[name=visibility] option") if option.has("selected")]
    assert chosen["value"] == visibility


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_the_multi_file_form_refuses_bad_shared_fields_before_decoding(app, tab: Tab, htmx: bool) -> None:
    await uploader(app, tab)
    page = await tab.upload("/upload", [("a.jpg", images.jpeg())], {"tags": "fine, not/ok"}, htmx=htmx)
    assert page.status == 422
    assert "is not a valid tag" in page.text and rows(page) == []
    assert await all_photos(app) == [] and media_files(app) == []
    if not htmx:
        assert elements(page.text, '[aria-invalid="true"]') and elements(page.text, '[value="fine, not/ok"]')


async def test_files_sent_at_the_same_time_with_new_tags_share_them(app, tab: Tab) -> None:
    """upload.js sends three files at once: the first to create a tag must not fail the others."""
    import asyncio

    await uploader(app, tab)
    pages = await asyncio.gather(
        *(send_one(tab, f"p{n}.jpg", images.jpeg(400, 300), number=n, tags="fresh, brand new") for n in range(1, 4))
    )
    assert [page.status for page in pages] == [201, 201, 201], [page.text for page in pages]
    photos = await all_photos(app)
    assert [sorted(tag.name for tag in photo.tags) for photo in photos] == [["brand new", "fresh"]] * 3
    async with database(app).session(write=False) as session:
        assert sorted((await session.execute(select(Tag.name))).scalars()) == ["brand new", "fresh"]
    assert media_files(app) == sorted(name for photo in photos for name in photo.files())
