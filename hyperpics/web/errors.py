"""Error pages: a full page for browsers, a small message fragment when htmx asks."""

from __future__ import annotations

import logging
from typing import cast

from quart import Quart, Response, current_app, request
from werkzeug.exceptions import (
    Conflict,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    ServiceUnavailable,
    default_exceptions,
)

from ..infra import db, db_errors
from ..services.refusals import Refused
from . import htmx
from .auth import ConfirmationNeeded
from .ratelimit import RateLimited
from .request_limits import FORM_BODY_LIMIT
from .templating import render_template

log = logging.getLogger("hyperpics.errors")

TITLES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Please log in", "You need to log in to do this."),
    403: ("Not allowed", "You don't have permission to do this."),
    404: ("Page not found", "There is nothing at this address. It may have been deleted, or the link is wrong."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    413: ("Too large", "What you sent is larger than this site accepts."),
    422: ("Check your input", "Some of what you entered could not be accepted."),
    429: ("Slow down", "Too many requests in a short time."),
    500: ("Something went wrong", "That's our fault, not yours. The error was logged; please try again shortly."),
    503: ("Busy", "The site is very busy just now. Please try again in a moment."),
}

# What a database problem means for the person who asked (see db_errors.classify).
CONFLICT_MESSAGE = "Someone else changed this at the same moment. Reload the page and try again."
BUSY_MESSAGE = "The site is very busy just now and could not save this. Please try again in a moment."


def _description(error: HTTPException, code: int) -> str:
    default_text = type(error).description
    text = error.description
    # Werkzeug's stock sentences are written for developers; ours are plainer.
    if not text or text == default_text:
        return TITLES.get(code, TITLES[500])[1]
    return text


def _too_large_message() -> str:
    config = current_app.config
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "body_limit", None) is None:
        kib = (request.max_content_length or FORM_BODY_LIMIT) // 1024
        return f"What you sent is larger than this form accepts (at most {kib} KB)."
    return (
        f"What you sent is larger than this site accepts: at most {config['MAX_UPLOAD_MB']} MB per photo "
        f"and {config['MAX_UPLOAD_FILES']} photos at a time. Send fewer or smaller files."
    )


async def render_error(error: HTTPException) -> tuple[str, int, dict[str, str]]:
    code = error.code or 500
    await db.end_write_phase(code)  # an error answer keeps nothing it wrote, and renders unlocked
    title = TITLES.get(code, (error.name, ""))[0]
    message = _description(error, code)
    if code == 413 and message == TITLES[413][1]:
        message = _too_large_message()
    headers: dict[str, str] = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    if code == 503:
        headers["Retry-After"] = str(db_errors.RETRY_AFTER_SECONDS)
    confirm_first = isinstance(error, ConfirmationNeeded)
    if confirm_first:
        title = "Confirm your email address"
    if htmx.is_htmx():
        body = await render_template("partials/error.html", code=code, title=title, message=message)
        # Errors show in the message region, whatever the request meant to swap.
        headers.update(htmx.retarget_headers("#flashes", "afterbegin"))
    else:
        body = await render_template(
            "errors/error.html", code=code, title=title, message=message, confirm_first=confirm_first
        )
    headers["Vary"] = htmx.VARY
    return body, code, headers


def init_app(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> HTTPException | tuple[str, int, dict[str, str]]:
        if error.code is None or error.code < 400:
            return error
        return await render_error(error)

    @app.errorhandler(Refused)
    async def _refused(error: Refused) -> tuple[str, int, dict[str, str]]:
        # What a service said no to, let through by the view: its sentence, under its status.
        return await render_error(default_exceptions[error.status](description=error.message))

    @app.errorhandler(db_errors.WriteOnSafeMethod)
    async def _write_on_safe_method(error: db_errors.WriteOnSafeMethod) -> tuple[str, int, dict[str, str]]:
        # A view bug, refused before anything changed: say so in the log, and to the client
        # that only a form sent with POST changes anything here.
        log.error("refused a write during %s %s", request.method, request.path, exc_info=error)
        return await render_error(MethodNotAllowed(description="Only a form sent with POST can change anything here."))

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> tuple[str, int, dict[str, str]]:
        problem = db_errors.classify(error)
        if problem is not None:
            log.warning("database %s: %s", problem, error)
            return await render_error(_problem_error(problem))
        log.exception("unhandled error", exc_info=error)
        return await render_error(InternalServerError())


def _problem_error(problem: db_errors.Problem) -> HTTPException:
    return Conflict(CONFLICT_MESSAGE) if problem == "conflict" else ServiceUnavailable(BUSY_MESSAGE)


async def database_problem_response(problem: db_errors.Problem) -> Response:
    """The answer that replaces a commit which failed for a reason the person can act on."""
    return cast(Response, await current_app.make_response(await render_error(_problem_error(problem))))
