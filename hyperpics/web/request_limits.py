"""Request bodies: a size limit for every route, enforced while the body streams in.

Quart's ASGI layer queues every chunk of a body as it arrives and compares the total with
``MAX_CONTENT_LENGTH`` only once the whole body is in memory, and that limit is one for the
whole app. Here each request gets the limit of the route it is for, chosen before its first
byte is read: small for forms, the upload limit only where a view asks for it. A body that
claims more (``Content-Length``) or sends more is refused with 413 at once; what follows is
dropped as it arrives, never kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar, cast

from quart import Quart
from quart.asgi import ASGIHTTPConnection
from quart.wrappers.request import Body
from werkzeug.exceptions import RequestEntityTooLarge

P = ParamSpec("P")
R = TypeVar("R")

MIB = 1024 * 1024
# Every form on the site (a bio, a comment, a page of checked rows) fits in a small part of this.
FORM_BODY_LIMIT = 256 * 1024
UPLOAD_BODY_TIMEOUT = 15 * 60  # seconds: 600 MB over a slow uplink

BodyLimit = Callable[[Mapping[str, Any]], int]


def photos_upload_limit(config: Mapping[str, Any]) -> int:
    """MAX_UPLOAD_FILES photos of MAX_UPLOAD_MB each, plus room for the form around them."""
    return (cast(int, config["MAX_UPLOAD_MB"]) * cast(int, config["MAX_UPLOAD_FILES"]) + 1) * MIB


def one_picture_limit(config: Mapping[str, Any]) -> int:
    return (cast(int, config["MAX_UPLOAD_MB"]) + 1) * MIB


def large_body(limit: BodyLimit) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Mark a view that accepts files: its body may be as large as ``limit(config)`` and take
    as long as a slow uplink needs. Every other view takes at most FORM_BODY_LIMIT."""

    def mark(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        view.body_limit = limit  # type: ignore[attr-defined]
        view.body_timeout = UPLOAD_BODY_TIMEOUT  # type: ignore[attr-defined]
        return view

    return mark


class LimitedBody(Body):
    """A body that stops keeping data the moment it passes its limit."""

    def __init__(self, expected_content_length: int | None, max_content_length: int) -> None:
        super().__init__(expected_content_length, max_content_length)
        self._received = 0
        if self._must_raise is not None:  # Content-Length already says too much
            self._refuse()

    def _refuse(self) -> None:
        self._must_raise = RequestEntityTooLarge()
        self._complete.set()  # wakes a reader waiting for the whole body: it raises
        self._queue.shutdown(immediate=True)  # frees what was queued, wakes chunk readers

    async def put(self, data: bytes) -> None:
        if self._must_raise is not None:
            return  # refused: the rest is dropped as it arrives
        self._received += len(data)
        if self._max_content_length is not None and self._received > self._max_content_length:
            self._refuse()
            return
        await super().put(data)

    async def get(self) -> bytes:
        if self._must_raise is not None:
            raise self._must_raise
        data = await super().get()
        if self._must_raise is not None:
            raise self._must_raise
        return data

    def set_complete(self) -> None:
        if self._must_raise is None:
            super().set_complete()


class LimitedHTTPConnection(ASGIHTTPConnection):
    """Quart's HTTP connection, with the body limit and timeout of the route the request is for."""

    def _create_request_from_scope(self, send: Any) -> Any:
        request = super()._create_request_from_scope(send)
        view = _view_for(self.app, request)
        limit = getattr(view, "body_limit", None)
        max_bytes = limit(self.app.config) if limit is not None else FORM_BODY_LIMIT
        request.max_content_length = max_bytes  # the form parser's limit too
        request.body = LimitedBody(request.content_length, max_bytes)
        timeout = getattr(view, "body_timeout", None)
        if timeout:
            request.body_timeout = timeout
        return request


def _view_for(app: Quart, request: Any) -> Callable[..., Any] | None:
    """The view this request will reach, or None (a 404, a 405, a redirect: no body wanted)."""
    try:
        rule, _arguments = app.create_url_adapter(request).match(return_rule=True)  # type: ignore[union-attr]
    except Exception:  # werkzeug's routing exceptions: NotFound, MethodNotAllowed, RequestRedirect
        return None
    return app.view_functions.get(rule.endpoint)


def init_app(app: Quart) -> None:
    app.asgi_http_class = LimitedHTTPConnection
    # Quart's own fallback when a request has no limit of its own: the largest route's.
    app.config["MAX_CONTENT_LENGTH"] = photos_upload_limit(app.config)
