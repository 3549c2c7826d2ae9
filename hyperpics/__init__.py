"""hyperpics: a self-hosted photo-sharing social site (Quart + htmx).

The web framework is imported by :func:`create_app`, not here: commands that never serve a
page (``hyperpics seed``, the seed's picture workers) start without it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from quart import Quart, Response


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

    from . import config
    from .infra import broadcast, db, numbers, passwords, shared
    from .web import auth, csrf, errors, layout, page_cache, request_limits, responses, static_files, templating

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
    from .services.search import TAG_COUNT_SHOWN
    from .web import templating
    from .web.template_helpers import page_path, photo_image, photo_src, timeago

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


def _register_blueprints(app: Quart) -> None:
    from .partials import collect, follow, notifications_stream, photo_details, user_card
    from .views import admin, admin_rows, comments, main, notifications, photos, search, settings, upload_row, users
    from .views import auth as auth_views

    pages = (main, auth_views, settings, photos, users, notifications, search, admin)
    parts = (photo_details, follow, collect, comments, user_card, notifications_stream, admin_rows, upload_row)
    for module in (*pages, *parts):
        app.register_blueprint(module.bp)
