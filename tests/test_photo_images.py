"""A photo's copies (400, 800 and up to 2048 px wide, JPEG and WebP), its placeholder colour,
the <picture> markup that lists them, how they are served, swept, deleted and backfilled."""

from __future__ import annotations

import html
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

from quart import Quart
from sqlalchemy import update

from hyperpics.infra import backfill, media, sweep
from hyperpics.infra.db import database
from hyperpics.models import Photo
from hyperpics.web.page_cache import forget_all

from . import images
from .conftest import Tab
from .html import count, elements
from .test_upload import all_photos, media_files, uploader

COLOUR = (200, 150, 90)


async def _upload(app: Quart, tab: Tab, width: int, height: int, colour: tuple[int, int, int] = COLOUR) -> Photo:
    page = await tab.upload("/upload", [("p.jpg", images.jpeg(width, height, colour))], htmx=True)
    assert page.status == 200, page.text
    return (await all_photos(app))[-1]


def _image(app: Quart, name: str):  # type: ignore[no-untyped-def]
    return images.open_image((Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR / name).read_bytes())


def _picture(page_html: str) -> str:
    [found] = re.findall(r"<picture\b.*?</picture>", page_html, re.DOTALL)
    return html.unescape(found)


async def test_an_upload_makes_every_copy_in_jpeg_and_webp_and_keeps_its_colour(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 2400, 1600)
    stem = photo.filename_original.removesuffix(".jpg")

    expected = {
        f"{stem}.jpg": ("JPEG", (2400, 1600)),
        **{
            f"{stem}{suffix}.{ext}": (fmt, size)
            for suffix, size in (("_s", (400, 267)), ("_m", (800, 533)), ("_l", (2048, 1365)))
            for ext, fmt in (("jpg", "JPEG"), ("webp", "WEBP"))
        },
    }  # fmt: skip
    assert media_files(app) == sorted(expected) == sorted(photo.files())
    for name, (fmt, size) in expected.items():
        image = _image(app, name)
        assert (image.format, image.size) == (fmt, size), name
    assert photo.derivatives == media.DERIVATIVES
    red, green, blue = (int(photo.colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[index]
    assert max(abs(a - b) for a, b in zip((red, green, blue), COLOUR, strict=True)) <= 4, photo.colour


async def test_a_photo_is_never_upscaled_and_narrow_ones_have_no_large_copy(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 600, 900)
    stem = photo.filename_original.removesuffix(".jpg")
    assert media_files(app) == sorted(
        [f"{stem}.jpg", f"{stem}_s.jpg", f"{stem}_s.webp", f"{stem}_m.jpg", f"{stem}_m.webp"]
    )
    assert _image(app, f"{stem}_m.webp").size == (600, 900)
    assert _image(app, f"{stem}_s.webp").size == (400, 600)


async def test_the_photo_page_and_grids_list_each_copy_once_with_sizes_for_their_place(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 2400, 1600)
    stem = photo.filename_original.removesuffix(".jpg")

    page = await tab.get(f"/photo/{photo.id}")
    picture = _picture(page.text)
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)" sizes="([^"]+)">', picture)
    assert webp is not None, picture
    assert webp.group(1) == (
        f"/media/photos/{stem}_s.webp?v=public 400w, /media/photos/{stem}_m.webp?v=public 800w, "
        f"/media/photos/{stem}_l.webp?v=public 2048w"
    )
    assert webp.group(2) == "(max-width: 832px) calc(100vw - 2rem), 800px"
    img = re.search(r"<img [^>]*>", picture).group(0)  # type: ignore[union-attr]
    assert elements(img, f'[src="/media/photos/{stem}_m.jpg?v=public"]')
    assert elements(
        img,
        f'[srcset="/media/photos/{stem}_s.jpg?v=public 400w, /media/photos/{stem}_m.jpg?v=public 800w, '
        f'/media/photos/{stem}_l.jpg?v=public 2048w"]',
    )
    assert elements(img, '[width="800"][height="533"]') and elements(img, "[loading=eager][fetchpriority=high]")
    # The placeholder: the colour as three classes (no style attribute: the CSP refuses them).
    steps = re.search(r'class="ph ph-r(\d+) ph-g(\d+) ph-b(\d+)"', img)
    assert steps is not None, img
    for step, value in zip(steps.groups(), COLOUR, strict=True):  # 32 steps a channel
        assert abs(int(step) - value * 31 / 255) <= 1, (steps.groups(), COLOUR)
    assert "style=" not in picture

    for path in ("/explore", "/user/ana"):
        grid = await tab.get(path)
        card = _picture(re.search(rf'id="photo-card-{photo.id}".*?</figure>', grid.text, re.DOTALL).group(0))  # type: ignore[union-attr]
        # As wide as its shape (3:2) at a grid row's height, grown a little to fill the row.
        assert elements(
            card, '[sizes="(max-width: 880px) min(calc(100vw - 2rem), 45.0vw), min(calc(100vw - 2rem), 396px)"]'
        )
        assert (
            elements(card, '[loading="lazy"]')
            and elements(card, '[width="400"][height="267"]')
            and elements(card, f'[src="/media/photos/{stem}_s.jpg?v=public"]')
        )


async def test_the_colour_classes_are_all_in_the_stylesheet(app: Quart) -> None:
    css = (Path(app.static_folder) / "css" / "app.css").read_text()  # type: ignore[arg-type]
    for channel in "rgb":
        for step in range(32):
            assert f".ph-{channel}{step}{{--ph-{channel}:{round(step * 255 / 31)}}}" in css


async def test_webp_is_served_as_webp_cached_for_a_year_and_follows_visibility(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 1200, 800)
    stem = photo.filename_original.removesuffix(".jpg")
    for name in (f"{stem}_s.webp", f"{stem}_m.webp", f"{stem}_l.webp"):
        response = await tab.client.get(f"/media/photos/{name}?v=public")
        assert response.status_code == 200, name
        assert response.headers["Content-Type"] == "image/webp"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert (await response.get_data())[8:12] == b"WEBP"
    # Names no row gives: another stem, a size the pipeline does not make.
    for name in (f"{'0' * 32}_m.webp", f"{stem}_x.webp"):
        assert (await tab.client.get(f"/media/photos/{name}")).status_code == 404, name

    page = await tab.post(
        f"/photo/{photo.id}/edit", {"description": "", "alt_text": "", "tags": "", "visibility": "private"}
    )
    assert page.status == 303, page.text
    assert (await tab.client.get(f"/media/photos/{stem}_l.webp?v=public")).status_code == 404
    private = await tab.client.get(f"/media/photos/{stem}_l.webp?v=private")
    assert private.status_code == 200 and private.headers["Cache-Control"] == "private, max-age=3600"
    shown = _picture((await tab.get(f"/photo/{photo.id}")).text)
    assert f"{stem}_l.webp?v=private 1200w" in shown and "v=public" not in shown


async def _as_before_the_change(app: Quart, photo: Photo) -> list[str]:
    """Make ``photo`` what the pipeline before large and WebP copies left: three files, no
    colour, version 0. Returns the files removed."""
    async with database(app).session(write=True) as session:
        await session.execute(update(Photo).where(Photo.id == photo.id).values(derivatives=0, colour=None))
        await session.commit()
    gone = [name for name in photo.files() if name.endswith(".webp") or "_l." in name]
    for name in gone:
        (Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR / name).unlink()
    return gone


async def test_a_photo_from_before_shows_what_it_has_and_the_backfill_makes_the_rest_once(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    old = await _upload(app, tab, 1600, 1200)
    new = await _upload(app, tab, 640, 480, (30, 60, 200))
    new_files = media_files(app)
    gone = await _as_before_the_change(app, old)
    stem = old.filename_original.removesuffix(".jpg")

    picture = _picture((await tab.get(f"/photo/{old.id}")).text)
    assert count(picture, "source") == 0 and "ph-r" not in picture
    assert f'srcset="/media/photos/{stem}_s.jpg?v=public 400w, /media/photos/{stem}_m.jpg?v=public 800w"' in picture
    assert (await tab.client.get(f"/media/photos/{stem}_m.webp")).status_code == 404  # no row names it yet

    report = await backfill.backfill(app.config["DATABASE_URL"], app.config["MEDIA_DIR"], batch=1, workers=2)
    assert (report.behind, report.done, report.files, report.failed) == (1, 1, len(gone), [])
    [after] = [photo for photo in await all_photos(app) if photo.id == old.id]
    assert after.derivatives == media.DERIVATIVES and after.colour is not None
    assert media_files(app) == sorted(set(new_files) | set(gone))
    assert _image(app, f"{stem}_l.jpg").size == (1600, 1200) and _image(app, f"{stem}_m.webp").size == (800, 600)
    # A command's writes reach pages kept in memory within PAGE_CACHE_SECONDS; not waited for here.
    forget_all(app)
    picture = _picture((await tab.get(f"/photo/{old.id}")).text)
    assert f"{stem}_l.webp?v=public 1600w" in picture and elements(picture, "[class^='ph ph-r']")
    assert (await tab.client.get(f"/media/photos/{stem}_m.webp")).headers["Content-Type"] == "image/webp"

    # Run again: nothing behind, nothing written.
    before = {
        name: (Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR / name).stat().st_mtime_ns for name in media_files(app)
    }
    again = await backfill.backfill(app.config["DATABASE_URL"], app.config["MEDIA_DIR"])
    assert (again.behind, again.done, again.files) == (0, 0, 0)
    assert again.summary().endswith("nothing to do.")
    assert {
        name: (Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR / name).stat().st_mtime_ns for name in media_files(app)
    } == before
    assert new.id != old.id


async def test_a_backfill_leaves_a_photo_whose_original_is_missing_as_it_was(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 900, 600)
    await _as_before_the_change(app, photo)
    (Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR / photo.filename_original).unlink()

    report = await backfill.backfill(app.config["DATABASE_URL"], app.config["MEDIA_DIR"])

    assert report.failed == [(photo.id, "its original file is missing")] and report.done == 0
    assert [p.derivatives for p in await all_photos(app)] == [0]
    assert not any(name.endswith((".webp", media.PENDING_SUFFIX)) for name in media_files(app))


async def test_the_sweep_keeps_every_copy_a_row_names_and_removes_stray_ones(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 1200, 800)
    root = Path(app.config["MEDIA_DIR"]) / media.PHOTOS_DIR
    stray = f"{secrets.token_hex(16)}_l.webp"
    (root / stray).write_bytes(images.webp(64, 48))
    old = 1_000_000_000
    for name in [*photo.files(), stray]:
        os.utime(root / name, (old, old))

    report = await sweep.sweep(app.config["DATABASE_URL"], app.config["MEDIA_DIR"], grace=timedelta(hours=1))

    assert report.removed == [f"photos/{stray}"]
    assert media_files(app) == sorted(photo.files()) and len(photo.files()) == 7


async def test_deleting_a_photo_removes_every_copy(app: Quart, tab: Tab) -> None:
    await uploader(app, tab)
    photo = await _upload(app, tab, 2400, 1600)
    assert len(media_files(app)) == 7
    assert (await tab.post(f"/photo/{photo.id}/delete")).status == 303
    assert media_files(app) == []
    for name in photo.files():
        assert (await tab.client.get(f"/media/photos/{name}")).status_code == 404
