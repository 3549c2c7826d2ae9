"""Logging in and out: credentials, `next`, remember-me cookies, blocked accounts,
server-side sessions (revocation, logout) and the login rate limit."""

from __future__ import annotations

import re
from http.cookiejar import Cookie
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from hyperpics.infra.db import database
from hyperpics.models import AuthSession, User, utcnow
from hyperpics.web import ratelimit

from .conftest import PASSWORD, Tab, login, logout, make_user, set_user
from .html import find_id

AUTH_COOKIE = "hyperpics_auth"
SESSION_COOKIE = "hyperpics_session"
LOGGED_OUT_NAV = 'class="button-link" href="/auth/login">Log in</a>'
LOGGED_IN_NAV = 'id="logout-button"'


# --- helpers ------------------------------------------------------------------------------


async def sessions_of(app, username: str) -> list[AuthSession]:  # type: ignore[no-untyped-def]
    """The AuthSession rows of a user, oldest first."""
    async with database(app).session(write=False) as session:
        result = await session.execute(
            select(AuthSession)
            .join(User, User.id == AuthSession.user_id)
            .where(User.username == username)
            .order_by(AuthSession.id)
        )
        return list(result.scalars())


async def registered(app, tab: Tab, username: str = "ana", **values) -> Tab:  # type: ignore[no-untyped-def]
    """A confirmed account whose tab is logged out again, ready to log in."""
    await make_user(app, tab, username, **values)
    assert (await logout(tab)).status == 303
    return tab


def set_cookie_header(page, name: str) -> str:  # type: ignore[no-untyped-def]
    """The one Set-Cookie header of ``page`` for cookie ``name``."""
    headers = [h for h in page.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, page.headers.getlist("Set-Cookie")
    return headers[0]


def cookie_attributes(header: str) -> dict[str, str]:
    """Set-Cookie attributes by lower-cased name (the name=value pair left out)."""
    attributes: dict[str, str] = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


def jar_cookie(tab: Tab, name: str) -> Cookie | None:
    return next((c for c in tab.client.cookie_jar if c.name == name), None)


async def is_logged_in(tab: Tab) -> bool:
    home = await tab.get("/")
    assert home.status == 200
    logged_in = LOGGED_IN_NAV in home.text
    assert logged_in != (LOGGED_OUT_NAV in home.text), "the nav must show exactly one of Log in / Log out"
    return logged_in


# --- logging in ---------------------------------------------------------------------------


async def test_right_credentials_redirect_to_next_and_create_a_session(app, tab: Tab) -> None:
    await registered(app, tab, name="Ana Lima")
    before = await sessions_of(app, "ana")

    await tab.get("/auth/login?next=/settings/")
    page = await tab.post("/auth/login?next=/settings/", {"email": "ana@example.com", "password": PASSWORD})
    assert page.status == 303 and page.location == "/settings/"

    home = await tab.get("/")
    assert "Welcome back, Ana Lima." in home.text
    assert LOGGED_IN_NAV in home.text

    after = await sessions_of(app, "ana")
    assert len(after) == len(before) + 1
    new = after[-1]
    assert new.revoked_at is None and new.last_fresh_at is not None and new.remember is False


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
async def test_next_pointing_off_site_falls_back_to_home(app, tab: Tab, target: str) -> None:
    await registered(app, tab)
    path = f"/auth/login?next={quote(target, safe='')}"
    await tab.get(path)
    page = await tab.post(path, {"email": "ana@example.com", "password": PASSWORD})
    assert page.status == 303 and page.location == "/"


async def test_wrong_password_and_unknown_email_get_the_same_answer(app, tab: Tab) -> None:
    await registered(app, tab)
    sessions_before = len(await sessions_of(app, "ana"))

    wrong = await login(tab, "ana@example.com", "not the password")
    unknown = await login(tab, "nobody@example.com", PASSWORD)
    for page in (wrong, unknown):
        assert page.status == 422
        assert "Invalid email or password." in page.text
        assert "<html" in page.text
        assert not any(h.startswith(f"{AUTH_COOKIE}=") for h in page.headers.getlist("Set-Cookie"))

    assert len(await sessions_of(app, "ana")) == sessions_before
    assert not await is_logged_in(tab)


async def test_email_is_matched_regardless_of_case_and_spaces(app, tab: Tab) -> None:
    await registered(app, tab)
    page = await login(tab, "  ANA@Example.COM ")
    assert page.status == 303 and page.location == "/"
    assert await is_logged_in(tab)


async def test_htmx_login_answers_with_the_form_fragment_or_a_redirect_header(app, tab: Tab) -> None:
    await registered(app, tab)
    await tab.get("/auth/login")

    bad = await tab.post("/auth/login", {"email": "ana@example.com", "password": "wrong password"}, htmx=True)
    assert bad.status == 422 and bad.is_fragment()
    assert bad.root_id() == "login-form"
    assert "Invalid email or password." in bad.text

    good = await tab.post("/auth/login", {"email": "ana@example.com", "password": PASSWORD}, htmx=True)
    assert good.status == 200 and good.headers["HX-Redirect"] == "/"
    assert await is_logged_in(tab)


async def test_empty_form_is_422_with_field_messages(app, tab: Tab) -> None:
    await tab.get("/auth/login")
    page = await tab.post("/auth/login", {"email": "", "password": ""})
    assert page.status == 422
    assert "Enter your email address." in page.text and "Enter your password." in page.text


async def test_unconfirmed_users_can_log_in_and_see_the_confirm_notice(app, tab: Tab) -> None:
    await registered(app, tab, confirmed=False)
    assert find_id((await tab.get("/")).text, "confirm-notice") is None

    page = await login(tab, "ana@example.com")
    assert page.status == 303
    home = await tab.get("/")
    assert LOGGED_IN_NAV in home.text
    assert find_id(home.text, "confirm-notice")


async def test_logged_in_users_are_sent_away_from_the_login_page(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    page = await tab.get("/auth/login")
    assert page.status == 302 and page.location == "/"


# --- cookies ------------------------------------------------------------------------------


async def test_without_remember_me_the_auth_cookie_ends_with_the_browser(app, tab: Tab) -> None:
    await registered(app, tab)
    page = await login(tab, "ana@example.com", remember=False)
    assert page.status == 303

    attributes = cookie_attributes(set_cookie_header(page, AUTH_COOKIE))
    assert "expires" not in attributes and "max-age" not in attributes
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert (await sessions_of(app, "ana"))[-1].remember is False


async def test_with_remember_me_the_auth_cookie_lasts_remember_days(app, tab: Tab) -> None:
    await registered(app, tab)
    page = await login(tab, "ana@example.com", remember=True)
    assert page.status == 303

    attributes = cookie_attributes(set_cookie_header(page, AUTH_COOKIE))
    assert int(attributes["max-age"]) == app.config["REMEMBER_DAYS"] * 24 * 3600
    assert "expires" in attributes
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert (await sessions_of(app, "ana"))[-1].remember is True


async def test_the_session_cookie_is_httponly_and_lax_too(app, tab: Tab) -> None:
    page = await tab.get("/auth/login")  # the CSRF token goes into the session cookie
    attributes = cookie_attributes(set_cookie_header(page, SESSION_COOKIE))
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"


# --- blocked accounts ---------------------------------------------------------------------


async def test_a_blocked_user_cannot_log_in(app, tab: Tab) -> None:
    await registered(app, tab)
    await set_user(app, "ana", active=False)
    sessions_before = len(await sessions_of(app, "ana"))

    page = await login(tab, "ana@example.com")
    assert page.status == 422
    assert "Your account is blocked" in page.text
    assert len(await sessions_of(app, "ana")) == sessions_before
    assert not await is_logged_in(tab)


async def test_a_blocked_user_with_a_wrong_password_learns_nothing_about_the_block(app, tab: Tab) -> None:
    await registered(app, tab)
    await set_user(app, "ana", active=False)
    page = await login(tab, "ana@example.com", "not the password")
    assert page.status == 422
    assert "Invalid email or password." in page.text and "blocked" not in page.text


async def test_an_open_session_of_a_blocked_user_is_refused_on_its_next_request(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    assert await is_logged_in(tab)

    await set_user(app, "ana", active=False)
    home = await tab.get("/")
    assert LOGGED_OUT_NAV in home.text and LOGGED_IN_NAV not in home.text
    assert "Your account is blocked." in home.text
    # The cookie is dropped, so the next pages stay anonymous without the message.
    assert jar_cookie(tab, AUTH_COOKIE) is None
    again = await tab.get("/")
    assert LOGGED_OUT_NAV in again.text and "Your account is blocked." not in again.text

    settings = await tab.get("/settings/password")
    assert settings.status == 302 and settings.location.startswith("/auth/login?next=")


# --- sessions and logging out -------------------------------------------------------------


async def test_every_login_creates_its_own_session_row(app, tab: Tab, new_tab) -> None:
    await registered(app, tab)
    first, second = new_tab(), new_tab()
    assert (await login(first, "ana@example.com")).status == 303
    assert (await login(second, "ana@example.com")).status == 303

    rows = await sessions_of(app, "ana")
    open_rows = [row for row in rows if row.revoked_at is None]
    assert len(open_rows) == 2
    assert open_rows[0].token_hash != open_rows[1].token_hash
    assert await is_logged_in(first) and await is_logged_in(second)


async def test_a_revoked_session_is_logged_out_on_its_next_request(app, tab: Tab, new_tab) -> None:
    await registered(app, tab)
    other = new_tab()
    await login(tab, "ana@example.com")
    await login(other, "ana@example.com")
    rows = [row for row in await sessions_of(app, "ana") if row.revoked_at is None]
    assert len(rows) == 2

    # Revoke only the first tab's session, as "log out that device" would.
    async with database(app).session(write=True) as session:
        await session.execute(update(AuthSession).where(AuthSession.id == rows[0].id).values(revoked_at=utcnow()))
        await session.commit()

    home = await tab.get("/")
    assert LOGGED_OUT_NAV in home.text
    assert "You have been signed out. Please log in again." in home.text
    assert not await is_logged_in(tab)
    assert await is_logged_in(other)


async def test_logout_revokes_the_row_and_deletes_the_cookie(app, tab: Tab, new_tab) -> None:
    await registered(app, tab)
    await login(tab, "ana@example.com")
    stolen = jar_cookie(tab, AUTH_COOKIE)
    assert stolen is not None
    [row] = [row for row in await sessions_of(app, "ana") if row.revoked_at is None]

    page = await logout(tab)
    assert page.status == 303 and page.location == "/"
    deletion = cookie_attributes(set_cookie_header(page, AUTH_COOKIE))
    assert set_cookie_header(page, AUTH_COOKIE).startswith(f"{AUTH_COOKIE}=;")
    assert deletion.get("max-age") == "0" or "1970" in deletion.get("expires", "")

    home = await tab.get("/")
    assert "You are logged out." in home.text and LOGGED_OUT_NAV in home.text
    [after] = [r for r in await sessions_of(app, "ana") if r.id == row.id]
    assert after.revoked_at is not None

    # The old cookie value is worthless: the server-side row is revoked.
    replay = new_tab()
    replay.client.cookie_jar.set_cookie(stolen)
    assert not await is_logged_in(replay)


async def test_get_logout_is_405_and_keeps_the_user_logged_in(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    page = await tab.get("/auth/logout")
    assert page.status == 405
    assert await is_logged_in(tab)
    assert all(row.revoked_at is None for row in await sessions_of(app, "ana"))


async def test_logout_without_csrf_token_is_400_and_keeps_the_user_logged_in(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/")
    page = await tab.post("/auth/logout", csrf=False)
    assert page.status == 400
    assert await is_logged_in(tab)
    assert all(row.revoked_at is None for row in await sessions_of(app, "ana"))


async def test_logout_when_anonymous_goes_to_the_login_page(app, tab: Tab) -> None:
    await tab.get("/")
    page = await tab.post("/auth/logout")
    assert page.status == 302 and page.location.startswith("/auth/login")


async def test_login_rotates_the_csrf_token(app, tab: Tab) -> None:
    await registered(app, tab)
    await tab.get("/auth/login")
    before = tab.csrf
    await tab.post("/auth/login", {"email": "ana@example.com", "password": PASSWORD})
    await tab.get("/")
    assert tab.csrf and tab.csrf != before
    # The token seen before logging in no longer works.
    assert (await tab.post("/auth/logout", csrf=before)).status == 400
    assert await is_logged_in(tab)


# --- rate limit ---------------------------------------------------------------------------


async def test_the_eleventh_login_attempt_in_the_window_is_429_with_retry_after(app, tab: Tab) -> None:
    await registered(app, tab)
    app.config["RATE_LIMITS_ENABLED"] = True

    for attempt in range(10):
        page = await login(tab, "ana@example.com", "wrong password")
        assert page.status == 422, attempt

    # Even the right password is refused now.
    limited = await login(tab, "ana@example.com", PASSWORD)
    assert limited.status == 429
    assert "Too many failed logins" in limited.text
    assert "Try again in 15 minutes." in limited.text
    retry_after = int(limited.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert not await is_logged_in(tab)

    # The count is per address: another account can still log in from here.
    await make_user(app, Tab(app), "bruno")
    other = await login(tab, "bruno@example.com", PASSWORD)
    assert other.status == 303


async def test_spraying_many_accounts_from_one_address_is_limited(app, tab: Tab) -> None:  # type: ignore[no-untyped-def]
    """40 different emails from one address once got no 429: failures count per address too."""
    app.config["RATE_LIMITS_ENABLED"] = True
    limit = ratelimit.LOGIN_FROM_ADDRESS.count
    for attempt in range(limit):
        page = await login(Tab(app), f"someone{attempt}@example.com", "wrong password")
        assert page.status == 422, attempt
    refused = await login(Tab(app), "yet-another@example.com", "wrong password")
    assert refused.status == 429 and "Too many failed logins from your network" in refused.text


async def test_one_account_attacked_from_many_addresses_is_limited(app) -> None:  # type: ignore[no-untyped-def]
    app.config["RATE_LIMITS_ENABLED"] = True
    limit = ratelimit.LOGIN_TO_ACCOUNT.count
    for attempt in range(limit):
        address = {"REMOTE_ADDR": f"10.0.{attempt // 250}.{attempt % 250}"}
        page = await _login_from(app, address, "ana@example.com", "wrong password")
        assert page.status_code == 422, attempt
    refused = await _login_from(app, {"REMOTE_ADDR": "10.9.9.9"}, "ana@example.com", "wrong password")
    assert refused.status_code == 429
    assert "Too many failed logins to this account" in await refused.get_data(as_text=True)


async def _login_from(app, scope: dict, email: str, password: str):  # type: ignore[no-untyped-def]
    """A login from another client address (the test client's scope names it)."""
    client = app.test_client()
    page = await client.get("/auth/login", scope_base={"client": (scope["REMOTE_ADDR"], 1234)})
    token = re.search(r'name="csrf-token" content="([^"]+)"', await page.get_data(as_text=True)).group(1)
    return await client.post(
        "/auth/login",
        form={"email": email, "password": password, "csrf_token": token},
        scope_base={"client": (scope["REMOTE_ADDR"], 1234)},
    )


async def test_correct_logins_never_count_towards_the_limit(app, tab: Tab) -> None:  # type: ignore[no-untyped-def]
    """A tester was once locked out by their own 11th correct login."""
    await registered(app, tab)
    app.config["RATE_LIMITS_ENABLED"] = True
    for attempt in range(ratelimit.LOGIN.count + 5):
        assert (await login(tab, "ana@example.com", PASSWORD)).status == 303, attempt
        await logout(tab)
    # Failures still count, from the first.
    for attempt in range(ratelimit.LOGIN.count):
        assert (await login(tab, "ana@example.com", "wrong password")).status == 422, attempt
    assert (await login(tab, "ana@example.com", PASSWORD)).status == 429
