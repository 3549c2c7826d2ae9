"""Per-view request body limits: uploads may take longer to arrive than other posts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from quart import Quart, current_app, request

P = ParamSpec("P")
R = TypeVar("R")

UPLOAD_BODY_TIMEOUT = 15 * 60  # seconds: 600 MB over a slow uplink


def long_body(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Mark a view whose request bodies may be large and slow (multi-file uploads)."""
    view.body_timeout = UPLOAD_BODY_TIMEOUT  # type: ignore[attr-defined]
    return view


def init_app(app: Quart) -> None:
    """Registered before the CSRF check, which may read the body."""

    @app.before_request
    async def _body_limits() -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        timeout = getattr(view, "body_timeout", None)
        if timeout:
            request.body_timeout = timeout
