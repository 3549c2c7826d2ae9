"""What can go wrong with the database, and what it means for the person who asked: someone
else changed the same thing at the same moment (409), or the database could not be had in
time (503 with Retry-After). Anything else is a bug, a 500."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import exc

# What a 503 for a busy database asks the client to wait, in seconds.
RETRY_AFTER_SECONDS = 2


class WriteLockTimeout(exc.OperationalError):
    """SQLite's write lock (or this process's turn to ask for it) did not come in time."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("BEGIN IMMEDIATE", None, error)


class TransactionPolicyError(RuntimeError):
    """Slow work or rendering inside a write transaction (raised with STRICT_TRANSACTIONS)."""


class WriteOnSafeMethod(RuntimeError):
    """A GET or HEAD request tried to write or lock: safe methods never change state, so the
    statement is refused before it runs, whatever the view meant to do."""


Problem = Literal["conflict", "busy"]

# PostgreSQL: lock_timeout, deadlock, serialization failure.
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})


def classify(error: BaseException) -> Problem | None:
    """What a database error means for the person who asked: someone else changed the same
    thing at the same moment ("conflict", 409), or the database could not be had in time
    ("busy", 503 with Retry-After). None: a bug, a 500."""
    if isinstance(error, exc.IntegrityError):
        return "conflict"
    if isinstance(error, (exc.TimeoutError, WriteLockTimeout)):  # no connection, or no turn to write, in time
        return "busy"
    if isinstance(error, exc.DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        if sqlstate in _BUSY_SQLSTATES:
            return "busy"
        message = str(error.orig).lower()
        if isinstance(error, exc.OperationalError) and (
            "database is locked" in message or "database is busy" in message
        ):
            return "busy"
    return None
