"""The Pillow pipeline (hyperpics/media.py) called directly: what ends up on disk, under the
pending names it writes (publishing them is the caller's, after its commit)."""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFile

from hyperpics.infra import image_checks, media
from hyperpics.infra.image_checks import RejectedImage
from hyperpics.infra.media import StoredPhoto, process_avatar, process_photo

from . import images
from .helpers import near
from .images import BLUE, GREEN, RED, WHITE

NAME = re.compile(r"^[A-Za-z0-9_-]{16,}((_s|_m|_l)\.(jpg|png|webp)|\.(jpg|png))$")


# --- helpers ------------------------------------------------------------------------------


def all_files(root: Path) -> list[str]:
    """Every file under ``root``, hidden and temporary ones included."""
    return sorted(
        os.path.relpath(os.path.join(folder, name), root) for folder, _, names in os.walk(root) for name in names
    )


def written(media_dir: Path, folder: str, name: str) -> Path:
    """Where the pipeline wrote ``name``: its pending file."""
    return media_dir / folder / media.pending_name(name)


def stored(media_dir: Path, name: str) -> Image.Image:
    image = Image.open(written(media_dir, media.PHOTOS_DIR, name))
    image.load()
    return image


def colour_at(image: Image.Image, fx: float, fy: float) -> tuple:
    """The pixel at a fraction of the width and height."""
    return image.convert("RGB").getpixel((int(image.width * fx), int(image.height * fy)))


def sizes(media_dir: Path, result: StoredPhoto) -> list[tuple[int, int]]:
    """Sizes of the original, the medium and the small copy in the original's format."""
    return [stored(media_dir, name).size for name in (result.original, result.medium, result.small)]


def fallbacks(result: StoredPhoto) -> list[str]:
    """Every file but the WebP copies."""
    return [name for name in result.files() if not name.endswith(".webp")]


# --- orientation --------------------------------------------------------------------------


def test_orientation_6_is_stored_upright_in_original_and_derivatives(tmp_path: Path) -> None:
    # Stored sideways 2000x1000: RED left, BLUE right, GREEN square top-left.
    result = process_photo(images.rotated_jpeg(2000, 1000), tmp_path, "sideways.jpg")

    assert (result.width, result.height) == (1000, 2000)
    assert sizes(tmp_path, result) == [(1000, 2000), (800, 1600), (400, 800)]
    for name in result.files():
        image = stored(tmp_path, name)
        # Turned 90 degrees clockwise: RED on top, BLUE below, GREEN in the top-right corner.
        assert near(colour_at(image, 0.25, 0.25), RED), (name, colour_at(image, 0.25, 0.25))
        assert near(colour_at(image, 0.5, 0.75), BLUE), name
        assert near(colour_at(image, 0.9, 0.05), GREEN), name
        # Not mirrored (a transpose would put the green square top-left).
        assert near(colour_at(image, 0.1, 0.05), RED), name
        # And the orientation tag is gone, so no viewer turns it a second time.
        assert image.getexif().get(images.EXIF_ORIENTATION) is None


@pytest.mark.parametrize(
    ("orientation", "top_left", "size"),
    [
        (1, GREEN, (400, 200)),  # as stored
        (3, BLUE, (400, 200)),  # upside down: the stored bottom-right comes first
        (8, BLUE, (200, 400)),  # turned counter-clockwise: the stored right column is on top
    ],
)
def test_other_orientations(tmp_path: Path, orientation: int, top_left: tuple, size: tuple) -> None:
    result = process_photo(images.rotated_jpeg(400, 200, orientation), tmp_path, "x.jpg")
    image = stored(tmp_path, result.original)
    assert image.size == size
    assert near(colour_at(image, 0.02, 0.02), top_left), colour_at(image, 0.02, 0.02)


# --- metadata -----------------------------------------------------------------------------


def test_gps_exif_is_removed_from_every_stored_file(tmp_path: Path) -> None:
    upload = images.gps_jpeg()
    # The upload really carries the location (the test would prove nothing otherwise).
    assert images.read_gps(upload)[2] == (52.0, 22.0, 12.5)
    assert b"Exif" in upload and images.CAMERA_MAKE.encode() in upload

    result = process_photo(upload, tmp_path, "with-gps.jpg")

    for name in result.files():
        path = written(tmp_path, media.PHOTOS_DIR, name)
        data = path.read_bytes()
        with Image.open(path) as image:
            assert dict(image.getexif()) == {}, name
            assert "exif" not in image.info, name
        assert images.read_gps(data) == {}
        assert b"Exif" not in data, name
        for secret in (images.CAMERA_MAKE, images.CAMERA_MODEL, images.GPS_DATUM):
            assert secret.encode() not in data, (name, secret)


@pytest.mark.parametrize("kind", ["jpeg", "gif"])
def test_comments_are_not_copied_into_stored_files(tmp_path: Path, kind: str) -> None:
    secret = b"Home: 12 Secret Lane, Springfield"
    if kind == "jpeg":
        upload = images.jpeg(500, 400, comment=secret)
    else:
        buffer = io.BytesIO()
        Image.new("RGB", (100, 80), RED).save(buffer, "GIF", comment=secret)
        upload = buffer.getvalue()
    assert secret in upload

    result = process_photo(upload, tmp_path, f"commented.{kind}")

    for name in result.files():
        assert secret not in written(tmp_path, media.PHOTOS_DIR, name).read_bytes(), name


# --- sizes --------------------------------------------------------------------------------


def test_derivatives_are_800_and_400_wide(tmp_path: Path) -> None:
    result = process_photo(images.jpeg(1600, 1200), tmp_path, "big.jpg")
    assert (result.width, result.height) == (1600, 1200)
    assert sizes(tmp_path, result) == [(1600, 1200), (800, 600), (400, 300)]
    assert result.original.endswith(".jpg") and result.medium.endswith("_m.jpg") and result.small.endswith("_s.jpg")


def test_small_image_is_not_upscaled(tmp_path: Path) -> None:
    result = process_photo(images.jpeg(300, 200), tmp_path, "tiny.jpg")
    assert sizes(tmp_path, result) == [(300, 200), (300, 200), (300, 200)]


def test_between_sizes_only_the_small_one_shrinks(tmp_path: Path) -> None:
    result = process_photo(images.png(600, 900), tmp_path, "mid.png")
    assert sizes(tmp_path, result) == [(600, 900), (600, 900), (400, 600)]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: images.jpeg(4000, 3000), (3000, 2250)),  # decoded at full size, then shrunk
        (lambda: images.jpeg(6400, 4000), (3000, 1875)),  # decoded at half size (draft)
        (lambda: images.png(1000, 5000), (600, 3000)),  # the longest edge is the height
    ],
)
def test_originals_are_capped_at_3000_px(tmp_path: Path, make, expected) -> None:  # type: ignore[no-untyped-def]
    result = process_photo(make(), tmp_path, "large")
    assert (result.width, result.height) == expected
    original, medium, small = sizes(tmp_path, result)
    assert original == expected and max(original) == media.ORIGINAL_MAX_EDGE
    medium_width = min(800, expected[0])
    assert medium[0] == medium_width and small[0] == 400
    assert abs(medium[1] - round(expected[1] * medium_width / expected[0])) <= 1


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("png", lambda: images.png(900, 600, RED)),
        ("webp", lambda: images.webp(900, 600, RED)),
        ("avif", lambda: images.avif(900, 600, RED)),
        ("heic", lambda: images.heic(900, 600, RED)),
        ("gif", lambda: images.gif(900, 600, (RED, BLUE))),  # two frames: the first is kept
    ],
)
def test_accepted_formats_are_stored_as_jpeg(tmp_path: Path, kind: str, make) -> None:  # type: ignore[no-untyped-def]
    result = process_photo(make(), tmp_path, f"picture.{kind}")
    assert sizes(tmp_path, result) == [(900, 600), (800, 533), (400, 267)]
    for name in result.files():
        image = stored(tmp_path, name)
        if name.endswith(".webp"):
            assert image.format == "WEBP" and image.mode == "RGB"
        else:
            assert name.endswith(".jpg") and image.format == "JPEG" and image.mode == "RGB"
        assert near(colour_at(image, 0.5, 0.5), RED), (kind, name, colour_at(image, 0.5, 0.5))


def test_png_with_transparency_stays_png_with_its_alpha(tmp_path: Path) -> None:
    result = process_photo(images.png(1000, 500, BLUE, transparent=True), tmp_path, "logo.png")
    assert [name.rsplit(".", 1)[1] for name in result.files()] == ["png", "png", "webp", "png", "webp", "png", "webp"]
    assert result.colour is None  # a placeholder would show through the transparent half
    for name in result.files():
        image = stored(tmp_path, name)
        assert image.format == ("WEBP" if name.endswith(".webp") else "PNG") and image.mode == "RGBA"
        middle = image.height // 2
        assert image.getpixel((image.width // 4, middle))[3] == 0  # left half: transparent
        right = image.getpixel((image.width * 3 // 4, middle))
        assert right[3] == 255 and near(right, BLUE)


def test_palette_png_with_transparent_colour_stays_png(tmp_path: Path) -> None:
    image = Image.new("P", (200, 100), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0, 0, 0] * 254)
    ImageDraw.Draw(image).rectangle((100, 0, 199, 99), fill=1)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", transparency=0)

    result = process_photo(buffer.getvalue(), tmp_path, "sticker.png")

    original = stored(tmp_path, result.original)
    assert result.original.endswith(".png") and original.mode == "RGBA"
    assert original.getpixel((10, 50))[3] == 0 and original.getpixel((150, 50))[3] == 255


def sideways_mpo() -> bytes:
    """An MPO whose first picture is :func:`images.sideways_image` (EXIF Orientation 6), the
    second a BLUE square of another size."""
    exif = Image.Exif()
    exif[images.EXIF_ORIENTATION] = 6
    return images.mpo(images.sideways_image(400, 200), images.picture(300, 300, BLUE), exif=exif)


def test_mpo_is_stored_as_a_plain_jpeg_of_its_first_picture(tmp_path: Path) -> None:
    data = sideways_mpo()
    with Image.open(io.BytesIO(data)) as upload:
        assert upload.format == "MPO" and upload.n_frames == 2

    result = process_photo(data, tmp_path, "IMG_0001.JPG")

    assert sizes(tmp_path, result) == [(200, 400)] * 3
    for name in fallbacks(result):
        body = written(tmp_path, media.PHOTOS_DIR, name).read_bytes()
        image = stored(tmp_path, name)
        # One JPEG: no multi-picture index, no second picture.
        assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1, name
        assert b"MPF" not in body and body.count(b"\xff\xd8") == 1, name
        # The first picture (the second is all BLUE), turned upright: RED on top, GREEN top-right.
        assert near(colour_at(image, 0.25, 0.25), RED), name
        assert near(colour_at(image, 0.9, 0.05), GREEN), name
        assert near(colour_at(image, 0.5, 0.75), BLUE), name


# --- rejections ---------------------------------------------------------------------------


REJECTIONS = [
    *images.REFUSED,
    ("..\\..\\boot.ini.jpg", images.jpeg, "bad-name", images.PATH_IN_NAME),
    ("x" * 252 + ".jpg", images.jpeg, "bad-name", "The file name is longer than 255 characters."),
]


@pytest.mark.parametrize(
    ("file_name", "make", "reason", "message"), REJECTIONS, ids=[f"{r[2]}:{r[0][:20]}" for r in REJECTIONS]
)
def test_rejections_have_their_own_reason_and_leave_nothing(
    tmp_path: Path,
    file_name: str,
    make,
    reason: str,
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    media_dir = tmp_path / "media"
    media_dir.mkdir()
    with pytest.raises(RejectedImage) as caught:
        process_photo(make(), media_dir, file_name)
    assert caught.value.reason == reason
    assert caught.value.message == message
    assert str(caught.value) == message
    assert all_files(media_dir) == []


def test_the_100_megapixel_png_is_small_on_disk() -> None:
    data = images.huge_png()
    assert len(data) < 100_000  # a decompression bomb: tiny file, 100 MP once decoded
    # The size from the PNG header (IHDR), without letting Pillow near it.
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20]) == 10_000 and int.from_bytes(data[20:24]) == 10_000


@pytest.mark.parametrize(
    "action",
    [
        # As in production: media.py turns Pillow's warning into an error at import.
        pytest.param("error", id="warning-is-error"),
        # If something resets the warning filters, the explicit size check still refuses.
        pytest.param("ignore", id="warning-ignored"),
    ],
)
def test_just_over_the_pixel_limit_is_refused(tmp_path: Path, action: str) -> None:
    # 45 MP: over MAX_PIXELS (40 MP) but under Pillow's own hard limit (twice that).
    data = images.huge_png(9000, 5000)
    with warnings.catch_warnings():
        warnings.simplefilter(action, Image.DecompressionBombWarning)
        with pytest.raises(RejectedImage) as caught:
            process_photo(data, tmp_path, "big.png")
    assert caught.value.reason == "too-many-pixels"
    assert "megapixels" in caught.value.message and "the limit is 40" in caught.value.message
    assert all_files(tmp_path) == []


def test_a_failed_write_removes_what_was_written(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = media._write_atomically
    calls: list[str] = []

    def third_fails(folder: Path, name: str, data: bytes) -> None:
        calls.append(name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(folder, name, data)

    monkeypatch.setattr(media, "_write_atomically", third_fails)
    with pytest.raises(OSError):
        process_photo(images.jpeg(1000, 800), tmp_path, "a.jpg")
    assert len(calls) == 3
    assert all_files(tmp_path) == []


def test_a_failed_rename_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(*args: object) -> None:
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(media.os, "replace", refuse)
    with pytest.raises(OSError):
        process_photo(images.jpeg(), tmp_path, "a.jpg")
    assert all_files(tmp_path) == []


# --- work per byte ------------------------------------------------------------------------


def refuse_decoding(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Make any decode fail the test: a refusal must come from the header alone."""

    def decode(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"{self.format} {self.size} was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)


def test_a_sparse_png_is_refused_before_it_is_decoded(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    data = images.sparse_png()
    # Under MAX_PIXELS, and a few kilobytes: the 39.6 MP PNG of the review.
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (7000, 5650) and image_checks.MAX_PIXELS > 7000 * 5650
    assert len(data) < 6_000
    refuse_decoding(monkeypatch)

    with pytest.raises(RejectedImage) as caught:
        process_photo(data, tmp_path, "blank.png")

    assert caught.value.reason == "too-sparse"
    assert caught.value.message == (
        f"This image claims 39.5 megapixels but the file holds only {len(data) / 1024:.1f} KB;"
        " above 4 megapixels an image needs at least 1 KB per megapixel."
    )
    assert all_files(tmp_path) == []


def test_a_sparse_avatar_is_refused(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    refuse_decoding(monkeypatch)
    with pytest.raises(RejectedImage) as caught:
        process_avatar(images.sparse_png(), tmp_path, file_name="me.png")
    assert caught.value.reason == "too-sparse"
    assert all_files(tmp_path) == []


# The most compressible pictures people really upload, over the 4 MP that are always allowed:
# each must pass the per-byte rule (measured: about 270, 170, 560 and 90 pixels a byte).
REAL_PICTURES = {
    "flat-colour-png-6mp": lambda: images.png(3000, 2000),
    "flat-colour-optimised-jpeg-6mp": lambda: images.encoded(images.picture(3000, 2000), "JPEG", optimize=True),
    "flat-colour-webp-6mp": lambda: images.webp(3000, 2000),
    "screenshot-png-5mp": lambda: images.encoded(images.screenshot(2880, 1800), "PNG", optimize=True),
}


@pytest.mark.parametrize("make", REAL_PICTURES.values(), ids=REAL_PICTURES.keys())
def test_compressible_real_pictures_pass_the_per_byte_rule(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    data = make()
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
    assert size[0] * size[1] > image_checks.SPARSE_FREE_PIXELS  # the rule applies to it
    result = process_photo(data, tmp_path, "picture")
    assert max(result.width, result.height) == min(max(size), media.ORIGINAL_MAX_EDGE)


# --- data that does not fill the picture --------------------------------------------------


@pytest.mark.parametrize("claimed", [(6000, 6600), (2000, 2000)], ids=["39.6mp", "4mp-under-the-per-byte-rule"])
def test_a_jpeg_whose_data_is_far_too_short_for_its_header_is_refused(
    tmp_path: Path,
    monkeypatch,
    claimed: tuple[int, int],  # type: ignore[no-untyped-def]
) -> None:
    data = images.jpeg_claiming(*claimed)
    assert len(data) < 700
    # Pillow alone decodes it without a word: 16 x 16 real pixels, the rest filled in.
    assert images.open_image(data).size == claimed
    refuse_decoding(monkeypatch)

    with pytest.raises(RejectedImage) as caught:
        process_photo(data, tmp_path, "claims.jpg")

    assert (caught.value.reason, caught.value.message) == ("damaged", "This image is damaged or incomplete.")
    assert all_files(tmp_path) == []


@pytest.mark.parametrize(
    "make", [images.png_cut_in_idat, images.truncated_jpeg], ids=["png-cut-in-idat", "jpeg-cut-in-half"]
)
def test_cut_images_are_refused_even_if_pillow_was_told_to_fill_them_in(
    tmp_path: Path,
    monkeypatch,
    make,  # type: ignore[no-untyped-def]
) -> None:
    # A process-wide switch that any library could turn on; Pillow then pads what is missing.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RejectedImage) as caught:
        process_photo(make(), tmp_path, "cut")
    assert (caught.value.reason, caught.value.message) == ("damaged", "This image is damaged or incomplete.")
    assert all_files(tmp_path) == []


# --- names --------------------------------------------------------------------------------


def test_file_names_are_random_and_never_the_uploaded_name(tmp_path: Path) -> None:
    data = images.jpeg(900, 600)
    first = process_photo(data, tmp_path, "my-holiday-photo.jpg")
    second = process_photo(data, tmp_path, "my-holiday-photo.jpg")

    assert first.original != second.original
    assert set(first.files()).isdisjoint(second.files())
    for result in (first, second):
        stem = result.original.rsplit(".", 1)[0]
        assert result.medium == f"{stem}_m.jpg" and result.small == f"{stem}_s.jpg"
        for name in result.files():
            assert NAME.match(name), name
            assert "holiday" not in name and "my-" not in name
    assert len(all_files(tmp_path / media.PHOTOS_DIR)) == 2 * 7  # original, 3 copies in JPEG and in WebP
    assert all_files(tmp_path) == sorted(f"photos/{name}.pending" for name in first.files() + second.files())


# --- avatars ------------------------------------------------------------------------------


def avatar_sizes(media_dir: Path, names: list[str]) -> list[tuple[int, int]]:
    result = []
    for name in names:
        with Image.open(written(media_dir, media.AVATARS_DIR, name)) as image:
            assert image.format == "PNG"
            result.append(image.size)
    return result


def test_identicon_is_three_randomly_named_pngs(tmp_path: Path) -> None:
    first = media.make_identicon(tmp_path)
    second = media.make_identicon(tmp_path)

    assert avatar_sizes(tmp_path, first.files()) == [(30, 30), (100, 100), (200, 200)]
    assert set(first.files()).isdisjoint(second.files())
    for name in first.files():
        assert re.fullmatch(r"[0-9a-f]{24}_(30|100|200)\.png", name), name
    assert len(all_files(tmp_path / media.AVATARS_DIR)) == 6
    # Two random seeds: two different pictures (colour and pattern come from the seed).
    a = written(tmp_path, media.AVATARS_DIR, first.large).read_bytes()
    b = written(tmp_path, media.AVATARS_DIR, second.large).read_bytes()
    assert a != b


def quadrants(width: int = 400, height: int = 200) -> bytes:
    """Top-left RED, top-right GREEN, bottom-left BLUE, bottom-right WHITE."""
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=RED)
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=GREEN)
    draw.rectangle((0, height // 2, width // 2 - 1, height - 1), fill=BLUE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def thirds(width: int = 300, height: int = 100) -> bytes:
    """Left third RED, middle GREEN, right third BLUE."""
    image = Image.new("RGB", (width, height), GREEN)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 3 - 1, height - 1), fill=RED)
    draw.rectangle((2 * width // 3, 0, width - 1, height - 1), fill=BLUE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def avatar_image(media_dir: Path, name: str) -> Image.Image:
    image = Image.open(written(media_dir, media.AVATARS_DIR, name))
    image.load()
    return image.convert("RGB")


def test_avatar_default_is_the_centred_square(tmp_path: Path) -> None:
    result = process_avatar(thirds(), tmp_path, file_name="me.png")
    assert avatar_sizes(tmp_path, result.files()) == [(30, 30), (100, 100), (200, 200)]
    for name in result.files():
        image = avatar_image(tmp_path, name)
        for fx, fy in ((0.1, 0.1), (0.5, 0.5), (0.9, 0.9)):
            assert near(colour_at(image, fx, fy), GREEN), (name, fx, fy)


@pytest.mark.parametrize(
    ("crop", "color"),
    [
        ((0.0, 0.0, 0.5), RED),
        ((0.5, 0.0, 0.5), GREEN),
        ((0.0, 0.5, 0.5), BLUE),
        ((0.5, 0.5, 0.5), WHITE),
        ((0.9, 0.9, 0.5), WHITE),  # pushed back inside the picture
    ],
)
def test_avatar_crop_fractions(tmp_path: Path, crop: tuple, color: tuple) -> None:
    result = process_avatar(quadrants(), tmp_path, crop=crop)
    large = avatar_image(tmp_path, result.large)
    assert large.size == (200, 200)
    for fx, fy in ((0.05, 0.05), (0.5, 0.5), (0.95, 0.95)):
        assert near(colour_at(large, fx, fy), color), (crop, fx, fy, colour_at(large, fx, fy))


def test_avatar_is_turned_upright(tmp_path: Path) -> None:
    # Upright: 200 wide, 400 tall, RED top half; the centred square is at y 100..300.
    result = process_avatar(images.rotated_jpeg(400, 200), tmp_path, crop=(0.0, 0.0, 1.0))
    large = avatar_image(tmp_path, result.large)
    assert near(colour_at(large, 0.1, 0.5), RED) and near(colour_at(large, 0.9, 0.1), GREEN)


def test_avatar_rejections_leave_nothing(tmp_path: Path) -> None:
    with pytest.raises(RejectedImage) as caught:
        process_avatar(images.text_as_jpeg(), tmp_path, file_name="me.jpg")
    assert caught.value.reason == "not-an-image"
    with pytest.raises(RejectedImage) as caught:
        process_avatar(images.jpeg(), tmp_path, file_name="../me.jpg")
    assert caught.value.reason == "bad-name"
    assert all_files(tmp_path) == []
