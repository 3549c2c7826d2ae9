"""What templates are given to show things: times as "3 minutes ago", a photo's file URLs
and <picture> sources, and the path of the page being looked at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .templating import UrlBuilder


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    """ "3 minutes ago" style text; the exact time goes in a <time datetime> beside it."""
    from ..models import utcnow

    if value is None:
        return ""
    seconds = int(((now or utcnow()) - value).total_seconds())
    if seconds < 45:
        return "just now"
    for unit, size in (("year", 31_536_000), ("month", 2_592_000), ("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size) if unit == "minute" else seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def photo_src(photo: Any, size: str = "small") -> str:
    """A photo file's URL, naming the visibility it is for: a photo made private gets new
    URLs, and the public one (cached for a year) stops answering (views/photos.photo_file)."""
    from quart import current_app

    filename = {"small": photo.filename_small, "medium": photo.filename_medium, "original": photo.filename_original}[
        size
    ]
    url_for = cast("UrlBuilder", current_app.jinja_env.globals["url_for"])  # a grid asks a dozen times
    return url_for("photos.photo_file", filename=filename, v=photo.visibility.value)


@dataclass(frozen=True, slots=True)
class PhotoImage:
    """What templates/partials/picture.html needs for one photo besides its row."""

    webp: str  # srcset of the WebP copies ("" when the row has none yet)
    fallback: str  # srcset of the JPEG (or PNG) copies
    colour: str  # classes naming the placeholder colour ("" when there is none)


# Placeholder colour steps per channel: the strict CSP allows no style attribute, so a colour
# is three classes from app.css ("Photo placeholders"), 3 x 32 rules for 32,768 colours.
COLOUR_STEPS = 32


def photo_image(photo: Any) -> PhotoImage:
    """The srcsets (each width once) and the placeholder classes of a photo's <picture>."""
    from quart import current_app

    url_for = cast("UrlBuilder", current_app.jinja_env.globals["url_for"])
    visibility = photo.visibility.value
    srcsets: dict[bool, dict[int, str]] = {True: {}, False: {}}
    for copy in photo.copies():
        url = url_for("photos.photo_file", filename=copy.name, v=visibility)
        srcsets[copy.mimetype == "image/webp"].setdefault(copy.width, f"{url} {copy.width}w")
    colour = ""
    if photo.colour:
        channels = (int(photo.colour[i : i + 2], 16) for i in (1, 3, 5))
        colour = " ".join(
            f"ph-{name}{round(value * (COLOUR_STEPS - 1) / 255)}" for name, value in zip("rgb", channels, strict=True)
        )
    return PhotoImage(", ".join(srcsets[True].values()), ", ".join(srcsets[False].values()), colour)


def page_path() -> str:
    """The path of the page the person is looking at, also while rendering a fragment for it
    (in a fragment kept for everyone, a stand-in filled when the page is done)."""
    from quart import request

    from . import templating
    from .htmx import current_url, is_htmx

    if (stand_in := templating.slot("page_path")) is not None:
        return stand_in

    path, query = current_url() if is_htmx() else ("", "")
    if path:
        return path + (f"?{query}" if query else "")
    return request.full_path.rstrip("?")
