"""Signed cookies checked once per value, not once per request.

A member sends the same two signed cookies (the session's and the login's) with every
request, and checking them (a new serializer, base64, an HMAC, a timestamp) was an eighth of
a small page. A value whose signature held is kept with the time it was signed, so the next
request with the same value only checks its age; any other value is checked in full.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

SIZE = 10_000


class VerifiedCookies:
    """What each checked cookie value said, by value (a bounded dict: cleared when full)."""

    def __init__(self, size: int = SIZE) -> None:
        self._size = size
        self._kept: dict[str, tuple[Any, float]] = {}

    def loads(self, value: str, max_age: float | None, serializer: Callable[[], URLSafeTimedSerializer]) -> Any:
        """What ``value`` says, as ``serializer().loads(value, max_age=max_age)`` would say
        (itsdangerous's BadSignature when it would). The answer is shared: copy before changing it."""
        kept = self._kept.get(value)
        if kept is not None:
            payload, signed_at = kept
            if max_age is None or time.time() - signed_at <= max_age:
                return payload
            del self._kept[value]  # too old now: checked in full, and refused, below
        # itsdangerous compares max_age with a float age: its ``int`` annotation is too narrow.
        payload, signed = serializer().loads(value, max_age=max_age, return_timestamp=True)  # type: ignore[arg-type]
        if len(self._kept) >= self._size:
            self._kept.clear()
        self._kept[value] = (payload, signed.timestamp())
        return payload

    def __len__(self) -> int:
        return len(self._kept)


__all__ = ["BadSignature", "VerifiedCookies"]
