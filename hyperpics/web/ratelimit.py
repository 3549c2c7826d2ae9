"""Fixed-window request limits for endpoints people (or scripts) can hammer.

Counted in :mod:`shared`: in process memory for the embedded setup, in Redis when several
workers serve the site, so a limit holds whichever worker answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from quart import current_app, request
from werkzeug.exceptions import TooManyRequests

from ..infra.shared import store


@dataclass(frozen=True)
class Limit:
    name: str
    count: int
    seconds: int
    what: str  # shown to the user: "login attempts", "emails"...
    per_address: bool = True  # False: counted across every address (per account, per member)


# Failed logins, three ways (a login that succeeds gives its count back): one address trying
# one account; one address spraying many accounts; many addresses on one account.
LOGIN = Limit("login", 10, 15 * 60, "failed logins")
LOGIN_FROM_ADDRESS = Limit("login-address", 30, 15 * 60, "failed logins from your network")
LOGIN_TO_ACCOUNT = Limit("login-account", 50, 60 * 60, "failed logins to this account", per_address=False)
MAIL = Limit("mail", 5, 60 * 60, "emails of this kind")
REGISTER = Limit("register", 10, 60 * 60, "sign-ups")
CHECK = Limit("check", 120, 60, "checks")
UPLOADS = Limit("uploads", 300, 60 * 60, "photos uploaded", per_address=False)  # per member


class RateLimited(TooManyRequests):
    def __init__(self, limit: Limit, retry_after: int, description: str | None = None) -> None:
        super().__init__(
            description=description
            or f"Too many {limit.what}: at most {limit.count} per {_window(limit.seconds)}. "
            f"Try again in {_minutes(retry_after)}."
        )
        self.retry_after = retry_after


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _window(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "hour" if hours == 1 else f"{hours} hours"
    minutes = seconds // 60
    return "minute" if minutes == 1 else f"{minutes} minutes"


def client_address() -> str:
    return request.remote_addr or "unknown"


def _key(limit: Limit, key: str) -> str:
    return f"rl:{limit.name}:{client_address() if limit.per_address else '*'}|{key}"


def _enabled() -> bool:
    return bool(current_app.config["RATE_LIMITS_ENABLED"])


async def hit(limit: Limit, key: str = "") -> None:
    """Count one request from this address (and ``key``); raise :class:`RateLimited` past the limit."""
    await hit_all([(limit, key)])


async def hit_all(checks: Sequence[tuple[Limit, str]]) -> list[tuple[Limit, str]]:
    """Count one attempt in every limit; raise :class:`RateLimited` if any is past its count
    (the one that frees last names the wait). Returns what was counted, for :func:`give_back`."""
    if not _enabled():
        return []
    worst: tuple[int, Limit] | None = None
    for limit, key in checks:
        count, seconds_left = await store().hit(_key(limit, key), limit.seconds)
        if count > limit.count and (worst is None or seconds_left > worst[0]):
            worst = (seconds_left, limit)
    if worst is not None:
        raise RateLimited(worst[1], worst[0])
    return list(checks)


async def give_back(counted: Sequence[tuple[Limit, str]]) -> None:
    """Uncount an attempt that turned out fine (a correct password is not an attack)."""
    for limit, key in counted:
        await store().give_back(_key(limit, key))


def login_limits(email: str) -> list[tuple[Limit, str]]:
    return [(LOGIN, email), (LOGIN_FROM_ADDRESS, ""), (LOGIN_TO_ACCOUNT, email)]


async def allowance(limit: Limit, key: str) -> tuple[int, int]:
    """(how many more ``limit`` allows now, seconds until its window resets)."""
    if not _enabled():
        return limit.count, 0
    count, seconds_left = await store().peek(_key(limit, key))
    return max(0, limit.count - count), seconds_left


async def check_uploads(member_id: int, files: int) -> None:
    """Refuse an upload of ``files`` photos past the member's hourly allowance, saying how many
    are left and when the allowance comes back (the images are not processed at all)."""
    left, resets_in = await allowance(UPLOADS, str(member_id))
    if files > left:
        what = "no more photos" if left == 0 else f"only {left} more photo{'' if left == 1 else 's'}"
        raise RateLimited(
            UPLOADS,
            resets_in,
            f"You can upload {what} this hour (at most {UPLOADS.count} an hour). "
            f"The limit resets in {_minutes(resets_in)}.",
        )


async def add(limit: Limit, key: str, amount: int) -> None:
    """Count ``amount`` events at once (the photos of one upload)."""
    if _enabled() and amount > 0:
        await store().hit(_key(limit, key), limit.seconds, amount)
