"""Signed, expiring, single-use links for mail (confirm, reset password, change email).

Single use without a table of tokens: each token carries a fingerprint of the account's
security state (password hash, email, confirmation) and the serial of the link. A link stops
working once the action it allows is done, after any password or email change, and as soon
as a newer link of the same kind is sent (:func:`issue` bumps the serial).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from typing import Any, cast

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from quart import current_app

from ..models import User


class Purpose(enum.StrEnum):
    CONFIRM = "confirm"
    RESET_PASSWORD = "reset-password"
    CHANGE_EMAIL = "change-email"


MAX_AGE_SECONDS: dict[Purpose, int] = {
    Purpose.CONFIRM: 48 * 3600,
    Purpose.RESET_PASSWORD: 3600,
    Purpose.CHANGE_EMAIL: 24 * 3600,
}


class TokenError(Exception):
    """The link is expired, malformed, tampered with or already used."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(cast(str | bytes, current_app.secret_key), salt=f"hyperpics-{purpose.value}")


def serial(user: User, purpose: Purpose) -> int:
    return int((user.link_serials or {}).get(purpose.value, 0))


def fingerprint(user: User, purpose: Purpose) -> str:
    """What the token is bound to (needs the user's password hash loaded): it changes once
    the action is taken, with any password or email change, and with a newer link."""
    state = f"{user.password_hash}|{user.email}|{user.confirmed}|{serial(user, purpose)}"
    return hashlib.sha256(f"{user.id}|{purpose.value}|{state}".encode()).hexdigest()[:32]


def issue(user: User, purpose: Purpose, **extra: Any) -> str:
    """A new link for ``user``, voiding the older ones of its kind. It changes the user row:
    the caller commits before the link is mailed (accounts.new_link does both)."""
    user.link_serials = {**(user.link_serials or {}), purpose.value: serial(user, purpose) + 1}
    payload = {"uid": user.id, "n": serial(user, purpose), "fp": fingerprint(user, purpose), **extra}
    return _serializer(purpose).dumps(payload)


def read(token: str, purpose: Purpose) -> dict[str, Any]:
    """The payload of a valid token; raises :class:`TokenError` otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=MAX_AGE_SECONDS[purpose])
    except SignatureExpired:
        raise TokenError("This link has expired. Ask for a new one.") from None
    except BadSignature:
        raise TokenError("This link is not valid. Check that you copied all of it, or ask for a new one.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("uid"), int):
        raise TokenError("This link is not valid.")
    return payload


def superseded(user: User, purpose: Purpose, payload: dict[str, Any]) -> bool:
    """Whether a newer link of the same kind was sent since this one."""
    return payload.get("n") != serial(user, purpose)


def matches(user: User, purpose: Purpose, payload: dict[str, Any]) -> bool:
    """Whether the token still applies to the user's current state (not used yet)."""
    return hmac.compare_digest(str(payload.get("fp", "")).encode(), fingerprint(user, purpose).encode())
