"""What a service says no to, for every service: one family of errors.

A refusal carries the sentence the person reads, the HTTP status that says why, and the form
field it belongs to, if any. A view lets it through: the app's error handler (errors.py)
answers with the error page, or the message fragment when htmx asked. A view catches one only
to show its message in a form it renders again (:class:`Invalid`, mostly).
"""

from __future__ import annotations

from typing import ClassVar


class Refused(Exception):
    """Not allowed: the viewer may not do this (403)."""

    status: ClassVar[int] = 403

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BadRequest(Refused):
    """The request names something that cannot be (a broken link's cursor)."""

    status = 400


class NotFound(Refused):
    """There is no such thing, or the viewer may not know of it."""

    status = 404


class Conflict(Refused):
    """It is already so (a second report), or someone took it first."""

    status = 409


class Invalid(Refused):
    """The input breaks a rule: the form shows the message, by ``field`` when it names one."""

    status = 422
