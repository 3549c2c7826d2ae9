"""The image pipeline: plain synchronous Pillow code, always run in a worker thread.

An upload is trusted for nothing: its type is decided by decoding it, never by its name or
Content-Type. What is stored is a re-encoded copy without metadata (no EXIF, so no GPS),
turned upright, capped in size, plus smaller copies for the pages (400, 800 and up to 2048 px
wide), each in WebP and in JPEG (PNG when there is transparency) for browsers without WebP.

Files are written under a pending name, ``<name>.pending`` (itself through a temporary file
and a rename, so a pending file is always whole); if anything fails, whatever was written is
removed. They get their final names only once the rows naming them are committed
(:func:`hyperpics.storage.commit_with_files`), so a crash never leaves a final file no row
names; what a crash does leave, the media sweep (:mod:`hyperpics.sweep`) finishes or removes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, ImageDraw, ImageFile, ImageOps, UnidentifiedImageError

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
ORIGINAL_MAX_EDGE = 3000
LARGE_WIDTH = 2048
MEDIUM_WIDTH = 800
SMALL_WIDTH = 400
# Which copies a photo row's ``derivatives`` says are on disk (photo_copies):
#   0: the original, a medium and a small copy, in the original's format (JPEG, or PNG);
#   1: also a large copy when the photo is wider than the medium one, and a WebP of every copy.
# Rows below the current version get the missing files from `hyperpics media backfill`.
DERIVATIVES = 1
# WebP at 75 is cwebp's default and about JPEG 85 to the eye, at half the bytes or less
# (bench/RESULTS.md). Method 2 costs a third of method 4 (the default) for files 2-8 % larger:
# 12 against 33 ms for a demo photo's two copies, 0.14 against 0.52 s for a 2048 px one.
# WebP encodes without the GIL (JPEG keeps it).
WEBP_QUALITY = 75
WEBP_METHOD = 2
AVATAR_SIZES = {"small": 30, "medium": 100, "large": 200}

PHOTOS_DIR = "photos"
AVATARS_DIR = "avatars"
PENDING_SUFFIX = ".pending"

# Markup that makes a file a polyglot: harmless to us (we re-encode) but never wanted.
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


@dataclass(frozen=True)
class StoredPhoto:
    original: str
    medium: str
    small: str
    width: int
    height: int
    colour: str | None = None  # the average colour ("#rrggbb"), None with transparency
    derivatives: int = DERIVATIVES

    def files(self) -> list[str]:
        return [
            self.original,
            *(copy.name for copy in photo_copies(self.original, self.width, self.height, self.derivatives)),
        ]


@dataclass(frozen=True)
class Copy:
    """One stored copy of a photo, at one width, in one format."""

    name: str
    width: int
    height: int
    mimetype: str


# A copy's suffix and its largest width; the large copy only for photos wider than the medium.
COPY_WIDTHS = {"_s": SMALL_WIDTH, "_m": MEDIUM_WIDTH, "_l": LARGE_WIDTH}


def copy_size(width: int, height: int, most: int) -> tuple[int, int]:
    """A copy at most ``most`` wide of a ``width`` x ``height`` photo (never upscaled)."""
    if width <= most:
        return width, height
    return most, max(1, round(height * most / width))


def photo_copies(original: str, width: int, height: int, derivatives: int) -> list[Copy]:
    """Every copy a photo row names besides its original, smallest first, fallback format
    before WebP: what is on disk for a row at version ``derivatives`` (see DERIVATIVES).

    Copies share the original's stem: ``<stem>_m.jpg`` (or ``.png``), ``<stem>_m.webp``.
    """
    stem, _, extension = original.rpartition(".")
    fallback = "image/png" if extension == "png" else "image/jpeg"
    copies = []
    for suffix, most in COPY_WIDTHS.items():
        if suffix == "_l" and (derivatives < 1 or width <= MEDIUM_WIDTH):
            continue
        copy_width, copy_height = copy_size(width, height, most)
        copies.append(Copy(f"{stem}{suffix}.{extension}", copy_width, copy_height, fallback))
        if derivatives >= 1:
            copies.append(Copy(f"{stem}{suffix}.webp", copy_width, copy_height, "image/webp"))
    return copies


def check_file_name(name: str | None) -> None:
    """Browsers send a bare file name; anything with a path in it is a crafted request."""
    if not name:
        return
    if "/" in name or "\\" in name or "\x00" in name or name.strip() in {".", ".."} or ".." in Path(name).parts:
        raise RejectedImage("bad-name", "The file name contains a path; it was refused.")
    if len(name) > 255:
        raise RejectedImage("bad-name", "The file name is longer than 255 characters.")


def _open(data: bytes) -> Image.Image:
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


def _decode(image: Image.Image) -> Image.Image:
    """Decode (at a reduced scale when the stored copy will be smaller), turn upright."""
    # Process-wide, and when on Pillow pads missing data: whatever set it, data that stops
    # early must raise here.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    width, height = image.size
    longest = max(width, height)
    if _format_of(image) == "JPEG" and longest > ORIGINAL_MAX_EDGE:
        scale = ORIGINAL_MAX_EDGE / longest
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


def _normalise_mode(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        return image.convert("RGBA")
    return image.convert("RGB")


# Pillow's own choice for thumbnails: bicubic after a fast integer reduction. Against
# Lanczos it looks the same at these sizes and costs a third to a half (bench/pipeline.py).
RESAMPLING = Image.Resampling.BICUBIC
REDUCING_GAP = 2.0


def _fit_width(image: Image.Image, width: int, *, shape_of: Image.Image | None = None) -> Image.Image:
    """``image`` at most ``width`` wide; the height follows ``shape_of`` (default: the image),
    so a copy made from another copy keeps the original's proportions to the pixel."""
    basis = shape_of or image
    if basis.width <= width:
        return image.copy()
    height = max(1, round(basis.height * width / basis.width))
    return image.resize((width, height), RESAMPLING, reducing_gap=REDUCING_GAP)


def _cap_edge(image: Image.Image, edge: int) -> Image.Image:
    if max(image.size) <= edge:
        return image
    image = image.copy()
    image.thumbnail((edge, edge), RESAMPLING, reducing_gap=REDUCING_GAP)
    return image


def _encode_webp(image: Image.Image, method: int) -> bytes:
    """Lossy WebP (with its alpha, if any), the colour profile kept, no other metadata."""
    buffer = io.BytesIO()
    icc_profile = image.info.get("icc_profile") or b""
    image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=method, icc_profile=icc_profile, exif=b"", xmp=b"")
    return buffer.getvalue()


def average_colour(image: Image.Image) -> str | None:
    """The mean colour as ``#rrggbb`` (the placeholder shown while the photo loads); None for
    a picture with transparent parts, where a placeholder would show through once loaded."""
    if image.mode == "RGBA" and cast(tuple[int, int], image.getchannel("A").getextrema())[0] < 255:
        return None
    red, green, blue = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    return f"#{red:02x}{green:02x}{blue:02x}"


def _encode(image: Image.Image) -> tuple[bytes, str]:
    """JPEG for opaque pictures, PNG when there is transparency; never any metadata.

    Pillow writes what it finds in ``image.info`` (a JPEG comment, say) unless told
    otherwise, so only the colour profile is kept from it.
    """
    icc_profile = image.info.get("icc_profile")
    image.info = {"icc_profile": icc_profile} if icc_profile else {}
    buffer = io.BytesIO()
    if image.mode == "RGBA":
        image.save(buffer, "PNG", optimize=True)
        return buffer.getvalue(), ".png"
    # Not progressive: Pillow's encoder keeps the GIL, and progressive encoding took ~4x as
    # long (bench/pipeline.py), stalling the event loop for as long.
    image.save(buffer, "JPEG", quality=85, optimize=True, exif=b"", comment=b"")
    return buffer.getvalue(), ".jpg"


def pending_name(name: str) -> str:
    """What a new file (a bare name or a path) is called until its rows are committed."""
    return f"{name}{PENDING_SUFFIX}"


# What the pipeline names files: a random hex stem, a size suffix, an extension (media
# routes answer 404 to anything else before touching the disk: a 5,000-character name
# once reached the filesystem and failed there).
_STORED_NAME = re.compile(r"[0-9a-f]{16,64}(?:_[a-z0-9]{1,6})?\.(?:jpg|png|webp)")


def is_stored_name(name: str) -> bool:
    return _STORED_NAME.fullmatch(name) is not None


def is_published_name(name: str) -> bool:
    """Neither pending nor a temporary file (``.<name>.<random>.tmp``): a name that may be served."""
    return not name.endswith(PENDING_SUFFIX) and not name.startswith(".")


def _write_atomically(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.{secrets.token_hex(4)}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / name)
    finally:
        temporary.unlink(missing_ok=True)


def _write_all(folder: Path, files: dict[str, bytes]) -> None:
    """Write every file, pending, or none: a failure removes what was already written."""
    written: list[str] = []
    try:
        for name, data in files.items():
            _write_atomically(folder, pending_name(name), data)
            written.append(pending_name(name))
    except BaseException:
        for name in written:
            (folder / name).unlink(missing_ok=True)
        raise


def _copies(
    original: Image.Image, original_file: bytes | None = None, *, existing: bool = False
) -> tuple[dict[str, bytes], str | None]:
    """The copies of an upright original, by suffix and extension ("_m.webp": bytes), and its
    average colour. ``original_file``: the original as encoded. ``existing``: the fallback
    medium and small copies are on disk already (a backfill), so only the large one and the
    WebP ones are made."""
    extension = ".png" if original.mode == "RGBA" else ".jpg"
    encoded: dict[str, bytes] = {}
    # Each copy from the next larger one: fewer pixels to read, the same result at its size.
    # A copy as large as the one before it (a photo narrower than the copy) is the same file:
    # encoded once.
    source, fallback, webp = original, original_file, None
    for suffix in ("_l", "_m", "_s"):
        if suffix == "_l" and original.width <= MEDIUM_WIDTH:
            continue
        if source.width > COPY_WIDTHS[suffix]:
            source = _fit_width(source, COPY_WIDTHS[suffix], shape_of=original)
            fallback = webp = None
        if not existing or suffix == "_l":
            fallback = encoded[f"{suffix}{extension}"] = fallback or _encode(source)[0]
        webp = encoded[f"{suffix}.webp"] = webp or _encode_webp(source, WEBP_METHOD)
    return encoded, average_colour(source)


def process_photo(data: bytes, media_dir: str | Path, file_name: str | None = None) -> StoredPhoto:
    """Validate, clean and store an uploaded photo, pending (see above). Raises :class:`RejectedImage`."""
    check_file_name(file_name)
    image = _normalise_mode(_decode(_open(data)))
    original = _cap_edge(image, ORIGINAL_MAX_EDGE)
    # Hex: no "_" in the stem, so "<stem>_m.jpg" always names a copy of "<stem>.jpg".
    stem = secrets.token_hex(16)
    body, extension = _encode(original)
    copies, colour = _copies(original, body)
    files = {f"{stem}{extension}": body} | {f"{stem}{ending}": data for ending, data in copies.items()}
    _write_all(Path(media_dir) / PHOTOS_DIR, files)
    return StoredPhoto(
        original=f"{stem}{extension}",
        medium=f"{stem}_m{extension}",
        small=f"{stem}_s{extension}",
        width=original.width,
        height=original.height,
        colour=colour,
    )


@dataclass(frozen=True)
class Backfilled:
    """What :func:`add_copies` wrote (pending, by path under MEDIA_DIR) and the photo's colour."""

    files: list[str]
    colour: str | None


def add_copies(media_dir: str | Path, original_name: str, derivatives: int) -> Backfilled:
    """Make the copies a photo stored at version ``derivatives`` lacks, from its stored
    original (already cleaned and upright), pending. Runs in a worker thread or process."""
    folder = Path(media_dir) / PHOTOS_DIR
    data = (folder / original_name).read_bytes()
    with Image.open(io.BytesIO(data)) as stored:
        stored.load()
        original = _normalise_mode(stored)
    copies, colour = _copies(original, data, existing=True)
    stem = original_name.rpartition(".")[0]
    wanted = {copy.name for copy in photo_copies(original_name, original.width, original.height, DERIVATIVES)}
    have = {copy.name for copy in photo_copies(original_name, original.width, original.height, derivatives)}
    files = {f"{stem}{ending}": data for ending, data in copies.items() if f"{stem}{ending}" in wanted - have}
    _write_all(folder, files)
    return Backfilled([f"{PHOTOS_DIR}/{name}" for name in files], colour)


# --- avatars ------------------------------------------------------------------------------


def identicon(seed: str, size: int = 200) -> Image.Image:
    """A symmetric 5x5 pattern in one colour, derived from ``seed`` (a random id)."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue = digest[0] / 255
    import colorsys

    red, green, blue = (round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.45, 0.55))
    image = Image.new("RGB", (size, size), (240, 242, 245))
    draw = ImageDraw.Draw(image)
    cell = size * 0.8 / 5
    margin = size * 0.1
    for row in range(5):
        for column in range(3):
            if digest[1 + row * 3 + column] % 2:
                for col in {column, 4 - column}:
                    x0 = margin + col * cell
                    y0 = margin + row * cell
                    draw.rectangle((x0, y0, x0 + cell, y0 + cell), fill=(red, green, blue))
    return image


@dataclass(frozen=True)
class StoredAvatar:
    small: str
    medium: str
    large: str

    def files(self) -> list[str]:
        return [self.small, self.medium, self.large]


def _store_avatar(square: Image.Image, media_dir: str | Path) -> StoredAvatar:
    stem = secrets.token_hex(12)
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    for label, size in AVATAR_SIZES.items():
        resized = square.resize((size, size), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, "PNG", optimize=True)
        names[label] = f"{stem}_{size}.png"
        files[names[label]] = buffer.getvalue()
    _write_all(Path(media_dir) / AVATARS_DIR, files)
    return StoredAvatar(small=names["small"], medium=names["medium"], large=names["large"])


def make_identicon(media_dir: str | Path) -> StoredAvatar:
    """New identicon files, pending, named by a random id (never by the username)."""
    return _store_avatar(identicon(secrets.token_hex(16)), media_dir)


def process_avatar(
    data: bytes,
    media_dir: str | Path,
    crop: tuple[float, float, float] | None = None,
    file_name: str | None = None,
) -> StoredAvatar:
    """Store an uploaded avatar cropped to a square, pending.

    ``crop`` is (x, y, size) as fractions of the upright image's width/height/shorter side;
    without it the centred square is used.
    """
    check_file_name(file_name)
    image = _normalise_mode(_decode(_open(data))).convert("RGB")
    side = min(image.size)
    if crop is None:
        left, top, size = (image.width - side) // 2, (image.height - side) // 2, side
    else:
        x, y, fraction = crop
        size = max(1, round(side * min(max(fraction, 0.05), 1.0)))
        left = min(max(0, round(x * image.width)), image.width - size)
        top = min(max(0, round(y * image.height)), image.height - size)
    square = image.crop((left, top, left + size, top + size))
    return _store_avatar(square, media_dir)
