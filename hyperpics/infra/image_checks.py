"""What an upload must pass before any of it is trusted: its type is decided by decoding it,
never by its name or Content-Type; it must carry enough bytes for the pixels it claims
(a small file claiming a huge image is a decompression bomb), hide no markup, and decode
whole. Plain synchronous Pillow code, run in a worker thread like the rest of the pipeline.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF from phones, when the pinned plugin is installed.
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - the plugin is a pinned dependency
    HEIF_SUPPORTED = False

# Pillow raises DecompressionBombError above twice this; we refuse anything above it.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

# Decoding costs per pixel, so the work is bounded per byte received: a 1-bit PNG of one
# colour claims 39.6 MP in 4.9 KB, 8,100 pixels a byte. Above SPARSE_FREE_PIXELS (cheap to
# decode) an image needs MIN_BYTES_PER_MEGAPIXEL, at most ~980 pixels a byte. The most
# compressible real pictures stay under 600: one flat colour as PNG 270, as optimised JPEG
# 170, as lossy WebP 560, a screenshot as PNG 90 (tests/test_media.py), near blank 290;
# photos under 60. Only flat or near-blank AVIF, HEIC and lossless WebP go past it.
SPARSE_FREE_PIXELS = 4_000_000
MIN_BYTES_PER_MEGAPIXEL = 1024

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "AVIF") + (("HEIF",) if HEIF_SUPPORTED else ())
ACCEPT_ATTRIBUTE = "image/jpeg,image/png,image/webp,image/gif,image/avif" + (
    ",image/heic,image/heif,.heic,.heif" if HEIF_SUPPORTED else ""
)
FORMAT_NAMES = "JPEG, PNG, WebP, GIF, AVIF" + (" or HEIC" if HEIF_SUPPORTED else "")
# Phones and cameras write MPO: a JPEG followed by more pictures (a second view, a depth
# map). Pillow names it apart; to us it is its first picture, a JPEG.
_SAME_AS = {"MPO": "JPEG"}

# The stored "original" is capped: big enough to view full screen, small enough to serve.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|script|body|iframe|svg|object|embed)\b|javascript:", re.IGNORECASE)
_SVG_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+svg|svg)\b", re.IGNORECASE | re.DOTALL
)

DAMAGED_MESSAGE = "This image is damaged or incomplete."


class RejectedImage(Exception):
    """The upload is not an image we accept; ``reason`` is a short code, ``message`` for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def check_file_name(name: str | None) -> None:
    """Browsers send a bare file name; anything with a path in it is a crafted request."""
    if not name:
        return
    if "/" in name or "\\" in name or "\x00" in name or name.strip() in {".", ".."} or ".." in Path(name).parts:
        raise RejectedImage("bad-name", "The file name contains a path; it was refused.")
    if len(name) > 255:
        raise RejectedImage("bad-name", "The file name is longer than 255 characters.")


def open_upload(data: bytes) -> Image.Image:
    if not data:
        raise RejectedImage("empty", "The file is empty.")
    if _SVG_START.match(data[:4096]):
        raise RejectedImage("svg", f"SVG drawings are not accepted; upload a photo ({FORMAT_NAMES}).")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise RejectedImage("too-many-pixels", _too_many_pixels_message(None)) from None
    except Image.DecompressionBombWarning:
        raise RejectedImage("too-many-pixels", _too_many_pixels_message(None)) from None
    except UnidentifiedImageError:
        raise RejectedImage("not-an-image", "This file is not an image.") from None
    except (OSError, ValueError, SyntaxError):
        raise RejectedImage("damaged", DAMAGED_MESSAGE) from None
    if _format_of(image) not in ACCEPTED_FORMATS:
        raise RejectedImage("unsupported-format", f"{image.format} images are not accepted; use {FORMAT_NAMES}.")
    # Checked from the header alone: refusing must cost far less than decoding would.
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise RejectedImage("too-many-pixels", _too_many_pixels_message(width * height))
    if _format_of(image) == "JPEG" and _jpeg_data_too_short(data):
        raise RejectedImage("damaged", DAMAGED_MESSAGE)
    if width * height > max(SPARSE_FREE_PIXELS, len(data) * 1_000_000 // MIN_BYTES_PER_MEGAPIXEL):
        raise RejectedImage("too-sparse", _too_sparse_message(width * height, len(data)))
    if _hidden_markup(data, image):
        raise RejectedImage("polyglot", "This file hides web page code inside the image; it was refused.")
    return image


def _format_of(image: Image.Image) -> str | None:
    return _SAME_AS.get(image.format or "", image.format)


# Where a JPEG's compressed data ends: the first marker that is not a stuffed FF 00, a
# restart marker (FF D0-D7) or fill (FF FF).
_JPEG_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Huffman coding spends at least one bit on every 8x8 block (its DC code), and a sequential
# scan one more (at least an end-of-block code). Keyed by the frame's SOF marker: baseline,
# extended, progressive. Arithmetic coding has no such floor; the per-byte rule bounds it.
_MIN_BITS_PER_BLOCK = {0xC0: 2, 0xC1: 2, 0xC2: 1}


def _jpeg_data_too_short(data: bytes) -> bool:
    """Whether the compressed data of a JPEG's (first) picture is too short for the size its
    header claims.

    When a scan stops early at a marker, libjpeg fills the rest with grey and Pillow does not
    say so: a small JPEG whose header is changed to claim 6000 x 6600 decodes "fine". The
    floor is exact (a flat-colour optimised JPEG reaches it), so no whole JPEG is refused; a
    picture cut part way and closed again can still pass it, with grey at the bottom.
    """
    position, min_bits, scan_bytes = 2, 0, 0
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xD9:  # end of image
            break
        if marker in (0xFF, 0x01) or 0xD0 <= marker <= 0xD7:  # fill, and markers without a length
            position += 1 if marker == 0xFF else 2
            continue
        segment_end = position + 2 + int.from_bytes(data[position + 2 : position + 4])
        if marker in _MIN_BITS_PER_BLOCK:
            min_bits = _MIN_BITS_PER_BLOCK[marker] * _jpeg_blocks(data[position + 4 : segment_end])
        if marker == 0xDA:  # start of scan: its header, then the compressed data
            scan_end = _JPEG_SCAN_END.search(data, segment_end)
            position = scan_end.start() if scan_end else len(data)
            scan_bytes += position - segment_end
        else:
            position = segment_end
    return scan_bytes * 8 < min_bits


def _jpeg_blocks(frame: bytes) -> int:
    """The 8x8 blocks of every component of a JPEG frame (SOF segment body), unpadded."""
    if len(frame) < 6 or len(frame) < 6 + 3 * frame[5]:
        return 0
    height, width = int.from_bytes(frame[1:3]), int.from_bytes(frame[3:5])
    sampling = [(frame[7 + 3 * i] >> 4, frame[7 + 3 * i] & 0x0F) for i in range(frame[5])]
    h_max = max((h for h, _ in sampling), default=0)
    v_max = max((v for _, v in sampling), default=0)
    if not h_max or not v_max:
        return 0
    # A component's size in samples (subsampled ones are smaller), then in blocks.
    return sum(
        _ceil_div(_ceil_div(width * h, h_max), 8) * _ceil_div(_ceil_div(height * v, v_max), 8) for h, v in sampling
    )


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _hidden_markup(data: bytes, image: Image.Image) -> bool:
    """Markup where a browser or a careless server would find it: the start of the file,
    text metadata (comments, PNG text chunks, XMP) and anything after the image's end.

    The compressed pixel data itself is not searched: it is random-looking, and would
    match ``<svg`` by chance in about one large photo in a few hundred.
    """
    if _MARKUP.search(data[:1024]):
        return True
    for value in image.info.values():
        text = value if isinstance(value, bytes) else value.encode("utf-8", "ignore") if isinstance(value, str) else b""
        if _MARKUP.search(text):
            return True
    return bool(_MARKUP.search(_trailer(data, _format_of(image))))


def _trailer(data: bytes, image_format: str | None) -> bytes:
    """The bytes after the end of the image stream (where polyglots hide their page)."""
    if image_format == "JPEG":
        # FF D9 cannot occur inside entropy-coded data (FF is always stuffed with 00).
        end = data.rfind(b"\xff\xd9")
        return data[end + 2 :] if end >= 0 else b""
    if image_format == "PNG":
        end = data.rfind(b"IEND")
        return data[end + 8 :] if end >= 0 else b""
    if image_format == "WEBP" and len(data) >= 8:
        return data[8 + int.from_bytes(data[4:8], "little") :]
    if image_format == "GIF":
        end = data.rfind(b"\x00\x3b")
        return data[end + 2 :] if end >= 0 else b""
    return b""


def _too_many_pixels_message(pixels: int | None) -> str:
    limit = MAX_PIXELS // 1_000_000
    if pixels is None:
        return f"This image has too many pixels; the limit is {limit} megapixels."
    return f"This image has {pixels / 1_000_000:.0f} megapixels; the limit is {limit}."


def _too_sparse_message(pixels: int, size: int) -> str:
    return (
        f"This image claims {pixels / 1_000_000:.1f} megapixels but the file holds only {size / 1024:.1f} KB;"
        f" above {SPARSE_FREE_PIXELS // 1_000_000} megapixels an image needs at least"
        f" {MIN_BYTES_PER_MEGAPIXEL / 1024:g} KB per megapixel."
    )


def decode_upright(image: Image.Image, max_edge: int) -> Image.Image:
    """Decode (at a reduced scale when the stored copy, at most ``max_edge`` wide or high, will
    be smaller), turn upright."""
    # Process-wide, and when on Pillow pads missing data: whatever set it, data that stops
    # early must raise here.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    width, height = image.size
    longest = max(width, height)
    if _format_of(image) == "JPEG" and longest > max_edge:
        scale = max_edge / longest
        # draft() decodes at 1/2, 1/4 or 1/8 scale while staying at least this size.
        image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
    try:
        if getattr(image, "is_animated", False):
            image.seek(0)  # the first frame of an animation
        image.load()
        upright = ImageOps.exif_transpose(image)
    except Image.DecompressionBombWarning:
        raise RejectedImage("too-many-pixels", _too_many_pixels_message(None)) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise RejectedImage("damaged", DAMAGED_MESSAGE) from None
    return upright if upright is not None else image
