"""Generated demo pictures.

A :class:`Picture` holds every choice the planner made (size, style, colours, EXIF); drawing it
is deterministic, so one seed gives the same pixels. Some sources carry GPS and an EXIF
orientation, drawn sideways so that the pipeline's turn puts them upright again: that way the
seed exercises the metadata stripping and the orientation fix like a phone upload does.
Their alt text says what they show.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

# Named colours, so the alt text can say what the picture shows.
PALETTE: dict[str, tuple[int, int, int]] = {
    "coral": (242, 110, 90),
    "teal": (24, 128, 128),
    "amber": (245, 176, 40),
    "navy": (24, 36, 92),
    "rose": (226, 120, 160),
    "olive": (120, 128, 48),
    "sand": (222, 200, 160),
    "plum": (110, 48, 104),
    "sky blue": (120, 184, 232),
    "forest green": (34, 96, 56),
    "crimson": (180, 24, 48),
    "lavender": (184, 164, 224),
    "mint": (160, 224, 190),
    "charcoal": (48, 50, 56),
    "ivory": (246, 242, 228),
    "ochre": (200, 130, 40),
    "slate": (100, 116, 140),
    "peach": (250, 196, 160),
    "indigo": (64, 40, 140),
    "lime": (170, 210, 60),
    "burgundy": (110, 20, 40),
    "turquoise": (40, 200, 196),
    "rust": (170, 70, 30),
    "lilac": (200, 160, 200),
}
COLOURS = tuple(PALETTE)

STYLES = ("landscape", "shapes", "stripes", "glow")
SHAPE_KINDS = ("circle", "square", "triangle")

ORIENTATION_TAG = 0x0112
GPS_IFD = 0x8825
# How to store an upright picture so that EXIF orientation N turns it upright again.
_SIDEWAYS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@dataclass(frozen=True)
class Picture:
    """One demo picture: ``width`` x ``height`` is its upright size."""

    width: int
    height: int
    style: str
    colours: tuple[str, ...]
    count: int
    orientation: int  # EXIF orientation written into the source; 1 = upright already
    gps: tuple[float, float] | None
    image_format: str  # JPEG, PNG or WEBP
    seed: int

    def alt_text(self) -> str:
        return _ALT_TEXT[self.style](self)


# --- drawing ----------------------------------------------------------------------------------


def _rgb(name: str) -> tuple[int, int, int]:
    return PALETTE[name]


def _gradient(size: tuple[int, int], top: str, bottom: str, angle: int = 0) -> Image.Image:
    """A two-colour linear gradient (colorize over a grey ramp is several times faster than composite)."""
    ramp = Image.linear_gradient("L")
    if angle % 90:
        # Keep the middle square, which the turned ramp covers fully (no empty corners).
        ramp = ramp.rotate(angle, resample=Image.Resampling.BILINEAR).crop((38, 38, 218, 218))
    elif angle:
        ramp = ramp.rotate(angle)
    ramp = ramp.resize(size, Image.Resampling.NEAREST)
    return ImageOps.colorize(ramp, _rgb(top), _rgb(bottom))


def _draw_landscape(picture: Picture, rng: random.Random) -> Image.Image:
    width, height = picture.width, picture.height
    sky_top, sky_bottom, sun, hills = picture.colours
    image = _gradient((width, height), sky_top, sky_bottom)
    draw = ImageDraw.Draw(image)
    radius = rng.randint(min(width, height) // 14, min(width, height) // 7)
    cx, cy = rng.randint(radius, width - radius), rng.randint(radius, height // 2)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=_rgb(sun))
    base = _rgb(hills)
    for layer in range(picture.count):
        # Farther hills are lighter, nearer ones darker and lower.
        shade = tuple(max(0, min(255, c + 40 - 30 * layer)) for c in base)
        top = int(height * (0.45 + 0.12 * layer + rng.uniform(-0.05, 0.05)))
        points = [(0, height)]
        steps = rng.randint(3, 6)
        for step in range(steps + 1):
            points.append((width * step // steps, top + rng.randint(-height // 10, height // 10)))
        points.append((width, height))
        draw.polygon(points, fill=shade)
    return image


def _draw_shapes(picture: Picture, rng: random.Random) -> Image.Image:
    width, height = picture.width, picture.height
    start, end, *shape_colours = picture.colours
    image = _gradient((width, height), start, end, angle=rng.choice((0, 45, 90, 135)))
    draw = ImageDraw.Draw(image)
    shortest = min(width, height)
    for index in range(picture.count):
        kind = SHAPE_KINDS[index % len(SHAPE_KINDS)]
        colour = _rgb(shape_colours[index % len(shape_colours)])
        size = rng.randint(shortest // 8, shortest // 3)
        x, y = rng.randint(0, width - size), rng.randint(0, height - size)
        if kind == "circle":
            draw.ellipse((x, y, x + size, y + size), fill=colour)
        elif kind == "square":
            draw.rectangle((x, y, x + size, y + size), fill=colour)
        else:
            draw.polygon([(x + size // 2, y), (x, y + size), (x + size, y + size)], fill=colour)
    return image


def _draw_stripes(picture: Picture, rng: random.Random) -> Image.Image:
    width, height = picture.width, picture.height
    *bands, dot = picture.colours
    image = Image.new("RGB", (width, height), _rgb(bands[0]))
    draw = ImageDraw.Draw(image)
    edges = sorted(rng.sample(range(1, 100), len(bands) - 1))
    for colour, edge in zip(bands[1:], edges, strict=True):
        draw.rectangle((0, height * edge // 100, width, height), fill=_rgb(colour))
    radius = min(width, height) // rng.randint(6, 10)
    cx, cy = rng.randint(radius, width - radius), rng.randint(radius, height - radius)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=_rgb(dot))
    return image


def _draw_glow(picture: Picture, rng: random.Random) -> Image.Image:
    width, height = picture.width, picture.height
    centre, edge, dots = picture.colours
    ramp = Image.radial_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    image = ImageOps.colorize(ramp, _rgb(centre), _rgb(edge))
    draw = ImageDraw.Draw(image)
    for _ in range(picture.count):
        radius = rng.randint(max(2, min(width, height) // 60), max(3, min(width, height) // 20))
        x, y = rng.randint(0, width), rng.randint(0, height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_rgb(dots))
    return image


_DRAW: dict[str, Callable[[Picture, random.Random], Image.Image]] = {
    "landscape": _draw_landscape,
    "shapes": _draw_shapes,
    "stripes": _draw_stripes,
    "glow": _draw_glow,
}


def draw(picture: Picture) -> Image.Image:
    """The picture, upright, as RGB."""
    return _DRAW[picture.style](picture, random.Random(picture.seed))


def _exif(picture: Picture) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Hyperpics Demo"  # Make
    exif[0x0110] = "Generated"  # Model
    if picture.orientation != 1:
        exif[ORIENTATION_TAG] = picture.orientation
    if picture.gps is not None:
        latitude, longitude = picture.gps
        exif.get_ifd(GPS_IFD).update(
            {
                1: "N" if latitude >= 0 else "S",
                2: _degrees(abs(latitude)),
                3: "E" if longitude >= 0 else "W",
                4: _degrees(abs(longitude)),
            }
        )
    return exif


def _degrees(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return (float(degrees), float(minutes), seconds)


def source_bytes(picture: Picture) -> bytes:
    """The file a camera would have sent: sideways when its EXIF says so, with GPS when planned."""
    image = draw(picture)
    if picture.orientation in _SIDEWAYS:
        image = image.transpose(_SIDEWAYS[picture.orientation])
    buffer = io.BytesIO()
    exif = _exif(picture).tobytes()
    if picture.image_format == "JPEG":
        image.save(buffer, "JPEG", quality=90, exif=exif)
    elif picture.image_format == "WEBP":
        image.save(buffer, "WEBP", quality=85, method=0, exif=exif)
    else:
        image.save(buffer, "PNG", compress_level=1, exif=exif)
    return buffer.getvalue()


# --- alt text: what the picture shows ------------------------------------------------------


def _count_words(count: int) -> str:
    return ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")[count] if count < 9 else str(count)


def _alt_landscape(picture: Picture) -> str:
    sky_top, sky_bottom, sun, hills = picture.colours
    hill_words = "a hill" if picture.count == 1 else f"{_count_words(picture.count)} layers of hills"
    return f"Illustrated landscape: a {sun} sun in a {sky_top} to {sky_bottom} sky above {hill_words} in {hills} tones."


def _alt_shapes(picture: Picture) -> str:
    start, end, *shape_colours = picture.colours
    kinds: dict[str, int] = {}
    for index in range(picture.count):
        kind = SHAPE_KINDS[index % len(SHAPE_KINDS)]
        kinds[kind] = kinds.get(kind, 0) + 1
    parts = [f"{_count_words(n)} {kind}{'s' if n > 1 else ''}" for kind, n in kinds.items()]
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"Abstract composition: {listed} in {' and '.join(shape_colours)} over a {start} to {end} gradient."


def _alt_stripes(picture: Picture) -> str:
    *bands, dot = picture.colours
    return f"Horizontal bands of {', '.join(bands[:-1])} and {bands[-1]}, with a {dot} circle."


def _alt_glow(picture: Picture) -> str:
    centre, edge, dots = picture.colours
    return f"A soft {centre} glow fading to {edge} at the edges, scattered with small {dots} dots."


_ALT_TEXT: dict[str, Callable[[Picture], str]] = {
    "landscape": _alt_landscape,
    "shapes": _alt_shapes,
    "stripes": _alt_stripes,
    "glow": _alt_glow,
}


def colours_for(style: str, rng: random.Random) -> tuple[tuple[str, ...], int]:
    """The colours and the count of things a picture of ``style`` needs."""
    if style == "landscape":
        return tuple(rng.sample(COLOURS, 4)), rng.randint(1, 3)
    if style == "shapes":
        return tuple(rng.sample(COLOURS, 2 + rng.randint(1, 2))), rng.randint(2, 6)
    if style == "stripes":
        return tuple(rng.sample(COLOURS, rng.randint(3, 5))), 0
    return tuple(rng.sample(COLOURS, 3)), rng.randint(6, 30)
