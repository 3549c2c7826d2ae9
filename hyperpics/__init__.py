"""hyperpics: a self-hosted photo-sharing social site (Quart + htmx).

The web framework is imported by :func:`create_app`, not here: commands that never serve a
page (``hyperpics seed``, the seed's picture workers) start without it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from quart import Quart, Response

    from .templating import UrlBuilder

__all__ = ["create_app"]

# A strict policy: no inline script or style attributes run, nothing from other origins.
# blob: images are the previews upload.js makes of files chosen on this page (object URLs).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


def create_app(overrides: dict[str, Any] | None = None, *, instance_path: str | Path | None = None) -> Quart:
    """Build the app: configuration from HYPERPICS_* variables, then ``overrides`` on top."""
    from quart import Quart

    from . import (
        auth,
        broadcast,
        config,
        csrf,
        db,
        errors,
        layout,
        numbers,
        page_cache,
        passwords,
        request_limits,
        responses,
        shared,
        static_files,
        templating,
    )

    root = Path(__file__).resolve().parent
    instance = Path(instance_path) if instance_path else Path.cwd() / "instance"
    app = Quart(__name__, instance_path=str(instance.resolve()), static_folder=str(root / "static"))
    app.response_class = responses.AppResponse
    app.session_interface = responses.SessionInterface()
    # Before any route is added: every <int:...> is an id with bounds (numbers.py).
    app.url_map.converters["int"] = numbers.IdConverter

    settings = config.from_environment(instance)
    settings.update(overrides or {})
    config.validate(settings)
    app.config.update(settings)
    # Every file we send sets its own Cache-Control; Quart's default would add a 12-hour Expires.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = None
    app.secret_key = config.resolve_secret_key(settings, instance)
    _configure_cookies(app)
    templating.init_app(app)
    _configure_templates(app)
    layout.init_app(app)
    passwords.use_profile(app.config["PASSWORD_HASHING"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    broadcast.init_app(app)
    shared.init_app(app)
    page_cache.init_app(app)
    request_limits.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    templating.settle_context_processors(app)
    static_files.init_app(app)

    security_headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    if app.config["ENV"] == "production":  # behind HTTPS (its cookies are Secure): browsers stay on it
        security_headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))

    @app.after_request
    async def _security_headers(response: Response) -> Response:
        # Added unless the view set its own (werkzeug's setdefault raises and catches a
        # KeyError for each header that is missing, which is every one, every request).
        present = {name.lower() for name, _ in response.headers.items()}
        for name, value in security_headers:
            if name.lower() not in present:
                response.headers.add(name, value)
        _cache_policy(response, present)
        return response

    # Last registered, so it runs first: the headers above also go on what replaces a failed commit.
    db.commit_at_the_edge(app, errors.database_problem_response)
    return app


def _cache_policy(response: Response, present: set[str]) -> None:
    """Pages and fragments are never stored for a member (they show their name, their
    notifications, their private photos); anonymous ones carry a session-bound CSRF token, so
    no shared cache keeps them either. Files set their own (media routes, static)."""
    from quart import g

    if "cache-control" in present:
        return
    if g.get("user") is not None:
        response.headers["Cache-Control"] = "no-store"
    elif response.mimetype == "text/html":
        response.headers["Cache-Control"] = "private, no-cache"


def _configure_cookies(app: Quart) -> None:
    secure = app.config["ENV"] != "development"
    app.config.update(
        SESSION_COOKIE_NAME="hyperpics_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
    )


def _configure_templates(app: Quart) -> None:
    from . import templating
    from .search import TAG_COUNT_SHOWN

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["timeago"] = timeago
    app.jinja_env.filters["isodate"] = lambda value: value.isoformat() if value else ""
    app.jinja_env.tests["endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.globals["page_path"] = page_path
    templating.register_slot("page_path", page_path)
    app.jinja_env.globals["photo_src"] = photo_src
    app.jinja_env.globals["photo_image"] = photo_image
    app.jinja_env.globals["TAG_COUNT_SHOWN"] = TAG_COUNT_SHOWN  # a found tag's photos are counted up to it
    vendored = sorted((Path(cast(str, app.static_folder)) / "vendor").glob("pico-*.min.css"))
    app.jinja_env.globals["PICO_CSS"] = vendored[-1].name if vendored else "pico.min.css"


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    """ "3 minutes ago" style text; the exact time goes in a <time datetime> beside it."""
    from .models import utcnow

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
    from urllib.parse import urlsplit

    from quart import request

    from . import templating
    from .htmx import is_htmx

    if (stand_in := templating.slot("page_path")) is not None:
        return stand_in

    if is_htmx() and request.headers.get("HX-Current-URL"):
        parts = urlsplit(request.headers["HX-Current-URL"])
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.full_path.rstrip("?")


def _register_blueprints(app: Quart) -> None:
    from .views import admin, main, notifications, photos, search, settings, users
    from .views import auth as auth_views

    app.register_blueprint(main.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(photos.bp)
    app.register_blueprint(users.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(admin.bp)

    from .partials import (
        admin_rows,
        collect,
        comments,
        follow,
        notifications_stream,
        photo_details,
        upload_row,
        user_card,
    )

    for partial in (photo_details, follow, collect, comments, user_card, notifications_stream, admin_rows, upload_row):
        app.register_blueprint(partial.bp)
