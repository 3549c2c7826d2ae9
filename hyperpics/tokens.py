"""Signed, expiring, single-use links for mail (confirm, reset password, change email).

Single use without a table: each token carries a fingerprint of the state it changes
(the confirmation flag and email, the password hash, the current email). Once the action
is done that state differs, so the same link is refused.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from quart import current_app

from .models import User


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
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"hyperpics-{purpose.value}")


def fingerprint(user: User, purpose: Purpose) -> str:
    """What the token is bound to; changes once the action it allows has been taken."""
    if purpose is Purpose.CONFIRM:
        state = f"{user.email}|{user.confirmed}"
    elif purpose is Purpose.RESET_PASSWORD:
        # The email too: a link mailed to an address the account has left must stop working.
        state = f"{user.password_hash}|{user.email}"
    else:
        state = user.email
    return hashlib.sha256(f"{user.id}|{purpose.value}|{state}".encode()).hexdigest()[:32]


def make(user: User, purpose: Purpose, **extra: Any) -> str:
    payload = {"uid": user.id, "fp": fingerprint(user, purpose), **extra}
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


def matches(user: User, purpose: Purpose, payload: dict[str, Any]) -> bool:
    """Whether the token still applies to the user's current state (not used yet)."""
    return hmac.compare_digest(str(payload.get("fp", "")), fingerprint(user, purpose))
