"""The image pipeline: plain synchronous Pillow code, always run in a worker thread.

An upload is trusted for nothing: its type is decided by decoding it, never by its name or
Content-Type. What is stored is a re-encoded copy without metadata (no EXIF, so no GPS),
turned upright, capped in size, plus smaller copies for the pages (400, 800 and up to 2048 px
wide), each in WebP and in JPEG (PNG when there is transparency) for browsers without WebP.

Files are written under a pending name, ``<name>.pending`` (itself through a temporary file
and a rename, so a pending file is always whole); if anything fails, whatever was written is
removed. They get their final names only once the rows naming them are committed
(:func:`hyperpics.infra.storage.commit_with_files`), so a crash never leaves a final file no row
names; what a crash does leave, the media sweep (:mod:`hyperpics.infra.sweep`) finishes or removes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, ImageDraw

from .image_checks import check_file_name, decode_upright, open_upload

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
    image = _normalise_mode(decode_upright(open_upload(data), ORIGINAL_MAX_EDGE))
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
    image = _normalise_mode(decode_upright(open_upload(data), ORIGINAL_MAX_EDGE)).convert("RGB")
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
