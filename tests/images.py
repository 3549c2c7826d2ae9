"""Real images made in memory with Pillow, for the upload and media tests.

Nothing here reads a fixture file from disk: every image (good or hostile) is built from
scratch, so a test shows exactly what it sends.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from fractions import Fraction

from PIL import Image, ImageDraw, TiffImagePlugin

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pinned dependency
    pillow_heif = None

# Colours of the asymmetric test picture (stored sideways, EXIF Orientation 6).
RED = (220, 30, 30)
BLUE = (30, 30, 220)
GREEN = (30, 200, 30)
WHITE = (255, 255, 255)

EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F
EXIF_MODEL = 0x0110
GPS_IFD = 0x8825

# Strings placed in the GPS photo's metadata: none of them may survive into a stored file.
CAMERA_MAKE = "HyperCamMaker"
CAMERA_MODEL = "SecretModel-X1"
GPS_DATUM = "WGS-84-HYPERPICS"
# 52°22'12.5"N 4°53'42.6"E
GPS_LATITUDE = (Fraction(52), Fraction(22), Fraction(125, 10))
GPS_LONGITUDE = (Fraction(4), Fraction(53), Fraction(426, 10))

HTML_PAYLOAD = b"<html><script>alert(1)</script></html>"


def _save(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def picture(width: int, height: int, color: tuple[int, int, int] = (120, 160, 200)) -> Image.Image:
    """An image of one colour (so a stored copy can be checked by its pixels)."""
    return Image.new("RGB", (width, height), color)


# --- good images --------------------------------------------------------------------------


def jpeg(
    width: int = 640,
    height: int = 480,
    color: tuple[int, int, int] = (120, 160, 200),
    *,
    exif: Image.Exif | bytes | None = None,
    comment: bytes | None = None,
    quality: int = 90,
) -> bytes:
    params: dict[str, object] = {"quality": quality}
    if exif is not None:
        params["exif"] = exif.tobytes() if isinstance(exif, Image.Exif) else exif
    if comment is not None:
        params["comment"] = comment
    return _save(picture(width, height, color), "JPEG", **params)


def png(
    width: int = 640,
    height: int = 480,
    color: tuple[int, int, int] = (120, 160, 200),
    *,
    transparent: bool = False,
) -> bytes:
    """An RGB PNG, or (``transparent``) an RGBA one whose left half is fully transparent."""
    if not transparent:
        return _save(picture(width, height, color), "PNG")
    image = Image.new("RGBA", (width, height), (*color, 255))
    ImageDraw.Draw(image).rectangle((0, 0, width // 2 - 1, height - 1), fill=(0, 0, 0, 0))
    return _save(image, "PNG")


def webp(width: int = 640, height: int = 480, color: tuple[int, int, int] = (120, 160, 200)) -> bytes:
    return _save(picture(width, height, color), "WEBP", quality=90)


def gif(width: int = 320, height: int = 240, colors: tuple = (RED, BLUE)) -> bytes:
    """An animated GIF of two frames, each one flat colour (first ``colors[0]``)."""
    frames = [Image.new("RGB", (width, height), color).convert("P") for color in colors]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=200, loop=0)


def avif(width: int = 640, height: int = 480, color: tuple[int, int, int] = (120, 160, 200)) -> bytes:
    return _save(picture(width, height, color), "AVIF", quality=90)


def heic(width: int = 640, height: int = 480, color: tuple[int, int, int] = (120, 160, 200)) -> bytes:
    if pillow_heif is None:  # pragma: no cover
        raise RuntimeError("pillow_heif is not installed")
    return _save(picture(width, height, color), "HEIF", quality=90)


def mpo(
    first: Image.Image,
    second: Image.Image,
    *,
    exif: Image.Exif | None = None,
) -> bytes:
    """A multi-picture JPEG (MPO) as phones and 3D cameras write it: two JPEGs in one file,
    ``exif`` on the first."""
    params: dict[str, object] = {"save_all": True, "append_images": [second], "quality": 90}
    if exif is not None:
        params["exif"] = exif.tobytes()
    return _save(first, "MPO", **params)


def screenshot(width: int = 2880, height: int = 1800, seed: int = 1) -> Image.Image:
    """A screen of text: white page, dark title bar, grey sidebar, lines of glyph-sized marks."""
    generator = random.Random(seed)
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width - 1, 59), fill=(40, 44, 52))
    draw.rectangle((0, 60, 299, height - 1), fill=(245, 246, 248))
    for top in range(100, height - 40, 26):
        left, line_end = 340, generator.randint(width // 2, width - 60)
        while left < line_end:
            for _ in range(generator.randint(3, 10)):  # a word
                glyph = generator.randint(5, 11)
                draw.rectangle((left, top + generator.randint(0, 5), left + glyph - 2, top + 16), fill=(30, 30, 30))
                left += glyph
            left += 8
    return image


def encoded(image: Image.Image, fmt: str, **params: object) -> bytes:
    return _save(image, fmt, **params)


def bmp(width: int = 64, height: int = 48) -> bytes:
    return _save(picture(width, height), "BMP")


def tiff(width: int = 64, height: int = 48) -> bytes:
    return _save(picture(width, height), "TIFF")


def noise_png(width: int, height: int, seed: int = 1) -> bytes:
    """Random noise: a PNG that is about ``width * height * 3`` bytes (it cannot compress)."""
    generator = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), generator.randbytes(width * height * 3))
    return _save(image, "PNG", compress_level=1)


def noise_jpeg(width: int, height: int, seed: int = 1, quality: int = 95) -> bytes:
    generator = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), generator.randbytes(width * height * 3))
    return _save(image, "JPEG", quality=quality)


# --- metadata -----------------------------------------------------------------------------


def sideways_image(width: int = 400, height: int = 200) -> Image.Image:
    """Left half RED, right half BLUE, a GREEN square in the top-left corner (as stored).

    With EXIF Orientation 6 the camera was turned: the upright picture is this one turned
    90 degrees clockwise, so upright it is ``height`` wide and ``width`` tall, RED on top,
    BLUE below, and the GREEN square in the top-RIGHT corner (a mirror would put it
    elsewhere).
    """
    image = Image.new("RGB", (width, height), BLUE)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2 - 1, height - 1), fill=RED)
    corner = min(width, height) // 4
    draw.rectangle((0, 0, corner - 1, corner - 1), fill=GREEN)
    return image


def rotated_jpeg(width: int = 400, height: int = 200, orientation: int = 6) -> bytes:
    """A JPEG stored sideways with EXIF Orientation (see :func:`sideways_image`)."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return _save(sideways_image(width, height), "JPEG", quality=95, exif=exif.tobytes())


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[EXIF_MAKE] = CAMERA_MAKE
    exif[EXIF_MODEL] = CAMERA_MODEL
    gps = exif.get_ifd(GPS_IFD)
    gps[0x0000] = b"\x02\x02\x00\x00"  # GPSVersionID
    gps[0x0001] = "N"  # GPSLatitudeRef
    gps[0x0002] = tuple(TiffImagePlugin.IFDRational(v.numerator, v.denominator) for v in GPS_LATITUDE)
    gps[0x0003] = "E"  # GPSLongitudeRef
    gps[0x0004] = tuple(TiffImagePlugin.IFDRational(v.numerator, v.denominator) for v in GPS_LONGITUDE)
    gps[0x0012] = GPS_DATUM  # GPSMapDatum
    return exif


def gps_jpeg(width: int = 1200, height: int = 900) -> bytes:
    """A JPEG whose EXIF has camera make/model and a GPSInfo IFD with latitude/longitude."""
    return jpeg(width, height, (90, 140, 70), exif=gps_exif())


def read_gps(data: bytes) -> dict:
    """The GPS IFD of an image's EXIF (empty when there is none)."""
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(GPS_IFD))


# --- hostile or broken files --------------------------------------------------------------


def huge_png(width: int = 10_000, height: int = 10_000) -> bytes:
    """100 megapixels of one colour: a few kilobytes on disk, 100 MP once decoded."""
    return _save(Image.new("1", (width, height), 1), "PNG", optimize=True)


def text_as_jpeg() -> bytes:
    return b"Dear diary,\nthis is a plain text file pretending to be holiday.jpg.\n" * 20


def sparse_png() -> bytes:
    """39.55 megapixels of black (7000 x 5650, 1 bit) in about 5 KB: under MAX_PIXELS, but some
    8,000 pixels a byte."""
    return _save(Image.new("1", (7000, 5650)), "PNG", optimize=True)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 16 x 16 JPEG (about 630 bytes) whose frame header says ``width`` x ``height``.

    Its compressed data holds 16 x 16 pixels and ends with a proper end-of-image marker, so
    nothing looks cut: libjpeg fills the other pixels with grey.
    """
    data = bytearray(jpeg(16, 16))
    position = 2
    while data[position + 1] != 0xC0:  # walk the segments to the baseline frame header (SOF0)
        position += 2 + int.from_bytes(data[position + 2 : position + 4])
    data[position + 5 : position + 9] = height.to_bytes(2) + width.to_bytes(2)
    return bytes(data)


def png_cut_in_idat() -> bytes:
    """A noisy PNG cut in the middle of its pixel data (the IDAT chunks)."""
    whole = noise_png(300, 200, seed=5)
    start = whole.index(b"IDAT")
    return whole[: start + (whole.rindex(b"IEND") - start) // 2]


def truncated_jpeg() -> bytes:
    """A valid noisy JPEG cut in half: the header parses, the picture data stops early."""
    whole = noise_jpeg(400, 300, seed=7)
    return whole[: len(whole) // 2]


def empty() -> bytes:
    return b""


def svg() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100" viewBox="0 0 100 100">'
        b'<circle cx="50" cy="50" r="40" fill="red"/><script>alert(1)</script></svg>\n'
    )


def polyglot_jpeg() -> bytes:
    """A valid JPEG with an HTML page appended after its end-of-image marker."""
    data = jpeg(320, 240)
    assert data.endswith(b"\xff\xd9")
    return data + HTML_PAYLOAD


def polyglot_comment_jpeg() -> bytes:
    """A valid JPEG whose COM comment segment holds an HTML page."""
    return jpeg(320, 240, comment=HTML_PAYLOAD)


# One of every kind of bad upload, the reason code each must get.
BAD_UPLOADS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "not-an-image": ("holiday.jpg", text_as_jpeg),
    "damaged": ("cut.jpg", truncated_jpeg),
    "empty": ("nothing.jpg", empty),
    "too-many-pixels": ("huge.png", huge_png),
    "svg": ("drawing.svg", svg),
    "polyglot": ("polyglot.jpg", polyglot_jpeg),
    "unsupported-format": ("old.bmp", bmp),
}


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- files the pipeline refuses -----------------------------------------------------------

FORMATS = "JPEG, PNG, WebP, GIF, AVIF or HEIC"  # as the refusals name what is accepted
POLYGLOT = "This file hides web page code inside the image; it was refused."
PATH_IN_NAME = "The file name contains a path; it was refused."

# (file name, what makes the file, the refusal's code, the message the person reads).
REFUSED: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("text.jpg", text_as_jpeg, "not-an-image", "This file is not an image."),
    ("cut.jpg", truncated_jpeg, "damaged", "This image is damaged or incomplete."),
    ("nothing.jpg", empty, "empty", "The file is empty."),
    ("huge.png", huge_png, "too-many-pixels", "This image has too many pixels; the limit is 40 megapixels."),
    ("drawing.svg", svg, "svg", f"SVG drawings are not accepted; upload a photo ({FORMATS})."),
    ("polyglot.jpg", polyglot_jpeg, "polyglot", POLYGLOT),
    ("comment.jpg", polyglot_comment_jpeg, "polyglot", POLYGLOT),
    ("../../etc/passwd.jpg", jpeg, "bad-name", PATH_IN_NAME),
    ("old.bmp", bmp, "unsupported-format", f"BMP images are not accepted; use {FORMATS}."),
    ("scan.tiff", tiff, "unsupported-format", f"TIFF images are not accepted; use {FORMATS}."),
]
