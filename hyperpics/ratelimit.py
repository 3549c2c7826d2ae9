"""Fixed-window request limits for endpoints people (or scripts) can hammer.

Counted in :mod:`shared`: in process memory for the embedded setup, in Redis when several
workers serve the site, so a limit holds whichever worker answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from quart import current_app, request
from werkzeug.exceptions import TooManyRequests

from .shared import store


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int
    what: str  # shown to the user: "login attempts", "emails"...


LOGIN = Limit("login", 10, 15 * 60, "login attempts")
MAIL = Limit("mail", 5, 60 * 60, "emails of this kind")
REGISTER = Limit("register", 10, 60 * 60, "sign-ups")
CHECK = Limit("check", 120, 60, "checks")


class RateLimited(TooManyRequests):
    def __init__(self, limit: Limit, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            description=f"Too many {limit.what}: at most {limit.count} per "
            f"{_window(limit.seconds)}. Try again in {minutes} {unit}."
        )
        self.retry_after = retry_after


def _window(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    minutes = seconds // 60
    return "minute" if minutes == 1 else f"{minutes} minutes"


def client_address() -> str:
    return request.remote_addr or "unknown"


async def hit(limit: Limit, key: str = "") -> None:
    """Count one request from this address (and ``key``); raise :class:`RateLimited` past the limit."""
    if not current_app.config["RATE_LIMITS_ENABLED"]:
        return
    count, seconds_left = await store().hit(f"rl:{limit.name}:{client_address()}|{key}", limit.seconds)
    if count > limit.count:
        raise RateLimited(limit, seconds_left)
