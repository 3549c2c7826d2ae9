"""Fixed-window request limits for endpoints people (or scripts) can hammer.

Kept in process memory: right for the embedded deployment; with several workers each one
counts on its own, which still caps abuse at workers x limit.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from quart import Quart, current_app, request
from werkzeug.exceptions import TooManyRequests


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


class Limiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, limit: Limit, key: str) -> None:
        """Count one request; raise :class:`RateLimited` past the limit."""
        now = time.monotonic()
        slot = (limit.name, key)
        started, count = self._windows.get(slot, (now, 0))
        if now - started >= limit.seconds:
            started, count = now, 0
        count += 1
        self._windows[slot] = (started, count)
        if count > limit.count:
            raise RateLimited(limit, int(limit.seconds - (now - started)) + 1)
        if len(self._windows) > 100_000:
            self._forget_expired(now)

    def _forget_expired(self, now: float) -> None:
        limits = {LOGIN.name: LOGIN, MAIL.name: MAIL, REGISTER.name: REGISTER, CHECK.name: CHECK}
        for slot, (started, _) in list(self._windows.items()):
            limit = limits.get(slot[0])
            if limit is None or now - started >= limit.seconds:
                del self._windows[slot]


def client_address() -> str:
    return request.remote_addr or "unknown"


def hit(limit: Limit, key: str = "") -> None:
    if not current_app.config["RATE_LIMITS_ENABLED"]:
        return
    limiter: Limiter = current_app.extensions["hyperpics_limiter"]
    limiter.hit(limit, f"{client_address()}|{key}")


def init_app(app: Quart) -> None:
    app.extensions["hyperpics_limiter"] = Limiter()
