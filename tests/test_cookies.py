"""Signed cookies are checked once per value (cookies.VerifiedCookies): a kept value still
expires, and any other value (tampered, signed with another key) is checked in full."""

from __future__ import annotations

import time

import pytest
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from quart import Quart

from hyperpics.web.cookies import VerifiedCookies

from .conftest import Tab, make_user


def _signer(secret: str = "s" * 32) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="test")


def test_a_value_is_checked_once_then_kept() -> None:
    verified, made = VerifiedCookies(), []

    def serializer() -> URLSafeTimedSerializer:
        made.append(1)
        return _signer()

    value = _signer().dumps({"csrf": "abc"})
    assert verified.loads(value, 60, serializer) == {"csrf": "abc"}
    assert verified.loads(value, 60, serializer) == {"csrf": "abc"}
    assert len(made) == 1 and len(verified) == 1


def test_a_kept_value_expires_at_its_signing_time_plus_max_age(monkeypatch: pytest.MonkeyPatch) -> None:
    verified = VerifiedCookies()
    value = _signer().dumps("token")
    assert verified.loads(value, 60, _signer) == "token"
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(SignatureExpired):
        verified.loads(value, 60, _signer)
    assert len(verified) == 0


def test_tampered_or_foreign_values_are_refused_and_not_kept() -> None:
    verified = VerifiedCookies()
    value = _signer().dumps("token")
    tampered = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    for bad in (tampered, _signer("another secret key, 32 chars ok").dumps("token"), "garbage"):
        with pytest.raises(BadSignature):
            verified.loads(bad, 60, _signer)
    assert len(verified) == 0


def test_the_kept_values_are_bounded() -> None:
    verified = VerifiedCookies(size=3)
    for number in range(10):
        verified.loads(_signer().dumps(number), 60, _signer)
        assert len(verified) <= 3


async def test_a_member_stays_logged_in_and_a_changed_cookie_logs_nobody_in(app: Quart) -> None:
    tab = Tab(app)
    await make_user(app, tab, "ana")
    for _ in range(2):  # checked, then kept
        page = await tab.get("/")
        assert "Hello, Ana." in page.text
    jar = tab.client.cookie_jar
    auth = next(cookie for cookie in jar if cookie.name == "hyperpics_auth")
    forged = Tab(app)
    forged.client.set_cookie("localhost", "hyperpics_auth", auth.value[:-3] + "abc")
    page = await forged.get("/")
    assert page.status == 200 and "Hello, Ana." not in page.text and "Log in" in page.text


async def test_a_message_added_by_one_request_stays_out_of_the_next_with_the_same_cookie(app: Quart) -> None:
    """The session is a copy of what the kept cookie said: a message one request adds to the
    pending list (changed in place) must not show on another request carrying the same cookie."""
    tab = Tab(app)
    await make_user(app, tab, "ana")
    await tab.post("/auth/logout")  # a new session cookie holding one pending message
    pending = next(cookie for cookie in tab.client.cookie_jar if cookie.name == "hyperpics_session").value

    def replaying() -> Tab:
        replay = Tab(app)
        replay.client.set_cookie("localhost", "hyperpics_session", pending)
        return replay

    guarded = await replaying().get("/notifications")  # adds "please log in" to the list, and redirects
    assert guarded.status in (302, 303)
    page = await replaying().get("/")
    assert "logged out" in page.text.lower()
    assert "please log in" not in page.text.lower()
