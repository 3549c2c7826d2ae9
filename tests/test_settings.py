"""Sensitive account settings: fresh login (re-authentication), changing the password,
changing the email address through a mailed link, and deleting the account."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from hyperpics.infra.db import database
from hyperpics.models import AuthSession, User, utcnow

from .conftest import PASSWORD, Mailbox, Tab, fetch_user, login, make_user, register
from .html import find_id

NEW_PASSWORD = "a brand new passphrase"
LOGGED_OUT_NAV = 'class="button-link" href="/auth/login">Log in</a>'
LOGGED_IN_NAV = 'id="logout-button"'
SENSITIVE = ["/settings/password", "/settings/email", "/settings/account"]


# --- helpers ------------------------------------------------------------------------------


async def make_stale(app, username: str, minutes: int = 11) -> None:  # type: ignore[no-untyped-def]
    """Pretend every session of ``username`` last typed the password ``minutes`` ago."""
    async with database(app).session(write=True) as session:
        user_id = (await session.execute(select(User.id).where(User.username == username))).scalar_one()
        await session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id)
            .values(last_fresh_at=utcnow() - timedelta(minutes=minutes))
        )
        await session.commit()


async def sessions_of(app, username: str | None = None, *, user_id: int | None = None) -> list[AuthSession]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        statement = select(AuthSession).order_by(AuthSession.id)
        if user_id is not None:
            statement = statement.where(AuthSession.user_id == user_id)
        else:
            statement = statement.join(User, User.id == AuthSession.user_id).where(User.username == username)
        return list((await session.execute(statement)).scalars())


async def is_logged_in(tab: Tab) -> bool:
    home = await tab.get("/")
    logged_in = LOGGED_IN_NAV in home.text
    assert logged_in != (LOGGED_OUT_NAV in home.text)
    return logged_in


async def change_password(tab: Tab, old: str, new: str, new2: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
    await tab.get("/settings/password")
    return await tab.post(
        "/settings/password",
        {"old_password": old, "password": new, "password2": new if new2 is None else new2},
        **kwargs,
    )


async def request_email_change(tab: Tab, address: str, **kwargs):  # type: ignore[no-untyped-def]
    await tab.get("/settings/email")
    return await tab.post("/settings/email", {"email": address}, **kwargs)


# --- fresh login --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SENSITIVE)
async def test_anonymous_visitors_are_sent_to_log_in(app, tab: Tab, path: str) -> None:
    page = await tab.get(path)
    assert page.status == 302
    assert page.location == f"/auth/login?next={path}"


@pytest.mark.parametrize("path", SENSITIVE)
async def test_a_stale_login_is_asked_for_the_password_again(app, tab: Tab, path: str) -> None:
    await make_user(app, tab, "ana")
    assert (await tab.get(path)).status == 200  # just logged in: fresh

    await make_stale(app, "ana")
    page = await tab.get(path)
    assert page.status == 302
    assert page.location == f"/auth/re-authenticate?next={path}"
    form = await tab.get(page.location)
    assert form.status == 200 and find_id(form.text, "reauthenticate-form")
    assert "Please enter your password again to continue." in form.text


async def test_a_login_nine_minutes_old_is_still_fresh(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await make_stale(app, "ana", minutes=9)
    page = await tab.get("/settings/password")
    assert page.status == 200 and find_id(page.text, "password-form")


async def test_a_stale_post_changes_nothing(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/password")
    await make_stale(app, "ana")
    page = await tab.post(
        "/settings/password", {"old_password": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert page.status == 302 and page.location.startswith("/auth/re-authenticate")
    assert (await login(Tab(app), "ana@example.com", PASSWORD)).status == 303


async def test_htmx_on_a_stale_login_redirects_the_whole_tab(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/account")
    await make_stale(app, "ana")
    page = await tab.post(
        "/settings/account",
        {"username": "ana"},
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/settings/account"},
    )
    assert page.status == 204
    assert page.headers["HX-Redirect"] == "/auth/re-authenticate?next=/settings/account"
    assert await fetch_user(app, "ana") is not None


async def test_reauthenticating_marks_the_session_fresh_and_returns(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await make_stale(app, "ana")
    stale_at = (await sessions_of(app, "ana"))[-1].last_fresh_at
    path = "/auth/re-authenticate?next=/settings/password"
    await tab.get(path)

    wrong = await tab.post(path, {"password": "not the password"})
    assert wrong.status == 422 and "That password is not correct." in wrong.text
    assert (await sessions_of(app, "ana"))[-1].last_fresh_at == stale_at
    assert (await tab.get("/settings/password")).status == 302

    await tab.get(path)
    right = await tab.post(path, {"password": PASSWORD})
    assert right.status == 303 and right.location == "/settings/password"
    assert (await sessions_of(app, "ana"))[-1].last_fresh_at > stale_at
    page = await tab.get("/settings/password")
    assert page.status == 200 and find_id(page.text, "password-form")


async def test_reauthenticate_refuses_an_off_site_next(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await make_stale(app, "ana")
    path = "/auth/re-authenticate?next=https://evil.example/"
    await tab.get(path)
    page = await tab.post(path, {"password": PASSWORD})
    assert page.status == 303 and page.location == "/"


async def test_htmx_reauthenticate_error_is_the_form_fragment(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await make_stale(app, "ana")
    path = "/auth/re-authenticate?next=/settings/email"
    await tab.get(path)
    page = await tab.post(path, {"password": "nope nope"}, htmx=True)
    assert page.status == 422 and page.is_fragment()
    assert page.root_id() == "reauthenticate-form"
    assert "That password is not correct." in page.text


async def test_a_fresh_session_skips_the_reauthenticate_page(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    page = await tab.get("/auth/re-authenticate?next=/settings/email")
    assert page.status == 303 and page.location == "/settings/email"


# --- changing the password ----------------------------------------------------------------


async def test_wrong_current_password_is_422_and_changes_nothing(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    page = await change_password(tab, "not my password", NEW_PASSWORD)
    assert page.status == 422
    assert "Your current password is not correct." in page.text
    assert (await login(Tab(app), "ana@example.com", NEW_PASSWORD)).status == 422
    assert (await login(Tab(app), "ana@example.com", PASSWORD)).status == 303


async def test_the_new_password_must_follow_the_rules(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    cases = {
        "short": "Use at least 8 characters.",
        "qwertyuiop": "This password is too common",
        "ana@example.com": "cannot be your email address",
    }
    for new, message in cases.items():
        page = await change_password(tab, PASSWORD, new)
        assert page.status == 422, new
        assert message in page.text, (new, page.text[:1500])
    mismatch = await change_password(tab, PASSWORD, NEW_PASSWORD, "something else")
    assert mismatch.status == 422 and "The two passwords do not match." in mismatch.text
    assert (await login(Tab(app), "ana@example.com", PASSWORD)).status == 303


async def test_htmx_password_error_returns_the_form_fragment(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    page = await change_password(tab, "wrong wrong", NEW_PASSWORD, htmx=True)
    assert page.status == 422 and page.is_fragment()
    assert page.root_id() == "password-form"


async def test_changing_the_password_logs_out_the_other_sessions_only(app, tab: Tab, new_tab) -> None:
    await make_user(app, tab, "ana")
    phone = new_tab()
    assert (await login(phone, "ana@example.com")).status == 303
    assert await is_logged_in(phone)

    page = await change_password(tab, PASSWORD, NEW_PASSWORD)
    assert page.status == 303 and page.location == "/settings/password"
    after = await tab.get("/settings/password")
    assert after.status == 200
    assert "Your password is changed. Your other devices have been logged out." in after.text

    assert await is_logged_in(tab)
    phone_home = await phone.get("/")
    assert LOGGED_OUT_NAV in phone_home.text
    assert "You have been signed out. Please log in again." in phone_home.text
    current, other = await sessions_of(app, "ana")  # this tab's (from registering), then the phone's
    assert current.revoked_at is None and other.revoked_at is not None

    assert (await login(new_tab(), "ana@example.com", PASSWORD)).status == 422
    assert (await login(new_tab(), "ana@example.com", NEW_PASSWORD)).status == 303


# --- changing the email address -----------------------------------------------------------


async def test_changing_the_email_mails_a_link_to_the_new_address(app, tab: Tab, mailbox: Mailbox, new_tab) -> None:
    await make_user(app, tab, "ana")
    page = await request_email_change(tab, "Ana.New@Example.com")
    assert page.status == 303 and page.location == "/settings/email"
    assert "We sent a link to ana.new@example.com." in (await tab.get("/settings/email")).text

    [message] = mailbox.to("ana.new@example.com")
    assert "Confirm your new email address" in message["Subject"]
    assert mailbox.to("ana@example.com") == []  # nothing goes to the old address
    link = mailbox.last_link("ana.new@example.com")
    assert link.startswith("/settings/email/confirm/")

    # Opening the link only asks.
    shown = await tab.get(link)
    assert shown.status == 200 and find_id(shown.text, "confirm-email-form")
    assert "ana.new@example.com" in shown.text
    assert (await fetch_user(app, "ana")).email == "ana@example.com"

    done = await tab.post(link)
    assert done.status == 303 and done.location == "/"
    assert "Your email address is now ana.new@example.com." in (await tab.get("/")).text
    user = await fetch_user(app, "ana")
    assert user.email == "ana.new@example.com" and user.confirmed

    assert (await login(new_tab(), "ana@example.com")).status == 422
    assert (await login(new_tab(), "ana.new@example.com")).status == 303


async def test_the_email_link_works_without_being_logged_in_but_only_once(app, tab: Tab, mailbox, new_tab) -> None:
    await make_user(app, tab, "ana")
    await request_email_change(tab, "new@example.com")
    link = mailbox.last_link("new@example.com")

    phone = new_tab()  # the mail is opened on another device
    await phone.get(link)
    assert (await phone.post(link)).status == 303
    assert (await fetch_user(app, "ana")).email == "new@example.com"

    for opener in (phone, tab):
        shown = await opener.get(link)
        assert shown.status == 400 and "already been used" in shown.text
        posted = await opener.post(link)
        assert posted.status == 400 and "already been used" in posted.text
    assert (await fetch_user(app, "ana")).email == "new@example.com"


async def test_an_address_another_account_uses_is_told_only_to_its_owner(app, tab: Tab, mailbox, new_tab) -> None:  # type: ignore[no-untyped-def]
    """ "Another account uses this email address" let any member test any address: the page now
    says the same as for a free one, and only the address's owner hears of it."""
    await make_user(app, new_tab(), "bruno")
    await make_user(app, tab, "ana")

    free = await request_email_change(tab, "free@example.com")
    taken = await request_email_change(tab, "BRUNO@example.com")
    assert (free.status, free.location) == (taken.status, taken.location) == (303, "/settings/email")
    shown = (await tab.get("/settings/email")).text
    assert "We sent a link to bruno@example.com. Your address changes when you open it." in shown
    [notice] = await mailbox.wait_for("bruno@example.com")
    assert notice["Subject"].endswith("Someone tried to use your address")
    assert "/settings/email/confirm/" not in notice.get_body(("plain",)).get_content()
    assert (await fetch_user(app, "ana")).email == "ana@example.com"


async def test_the_current_address_is_refused(app, tab: Tab, mailbox) -> None:
    await make_user(app, tab, "ana")
    mails_before = len(mailbox.messages)
    page = await request_email_change(tab, " Ana@Example.com ", htmx=True)
    assert page.status == 422 and page.is_fragment()
    assert page.root_id() == "email-form"
    assert "This is already your email address." in page.text
    assert len(mailbox.messages) == mails_before


async def test_an_address_taken_after_the_mail_went_out_is_refused_at_the_link(app, tab: Tab, mailbox, new_tab) -> None:
    await make_user(app, tab, "ana")
    await request_email_change(tab, "wanted@example.com")
    link = mailbox.last_link("wanted@example.com")
    assert (await register(new_tab(), "carla", email="wanted@example.com")).status == 303

    await tab.get(link)
    page = await tab.post(link)
    assert page.status == 400 and "Another account now uses this email address." in page.text
    assert (await fetch_user(app, "ana")).email == "ana@example.com"


# --- deleting the account -----------------------------------------------------------------


async def test_a_wrong_username_deletes_nothing(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/account")
    for typed in ("bruno", "ANA", "an"):
        page = await tab.post("/settings/account", {"username": typed})
        assert page.status == 422, typed
        assert "Type your username exactly as shown to confirm." in page.text
    assert await fetch_user(app, "ana") is not None
    assert await is_logged_in(tab)


async def test_deleting_removes_the_user_their_sessions_and_their_files(app, tab: Tab, new_tab) -> None:
    await make_user(app, new_tab(), "bruno", avatar_small="bruno-avatar.png")
    await make_user(app, tab, "ana", avatar_small="ana-avatar.png")
    phone = new_tab()
    await login(phone, "ana@example.com")
    ana, bruno = await fetch_user(app, "ana"), await fetch_user(app, "bruno")
    assert len(await sessions_of(app, user_id=ana.id)) == 2

    avatars = Path(app.config["MEDIA_DIR"]) / "avatars"
    avatars.mkdir(parents=True, exist_ok=True)
    for name in ana.avatar_files() + bruno.avatar_files():
        (avatars / name).write_bytes(b"fake picture")
    assert "ana-avatar.png" in ana.avatar_files()

    await tab.get("/settings/account")
    page = await tab.post("/settings/account", {"username": "ana"})
    assert page.status == 303 and page.location == "/"
    home = await tab.get("/")
    assert "Your account and everything in it have been deleted. Goodbye!" in home.text
    assert LOGGED_OUT_NAV in home.text

    assert await fetch_user(app, "ana") is None
    assert await sessions_of(app, user_id=ana.id) == []
    assert [name for name in ana.avatar_files() if (avatars / name).exists()] == []
    assert all((avatars / name).exists() for name in bruno.avatar_files())
    assert await fetch_user(app, "bruno") is not None

    assert not await is_logged_in(phone)
    assert (await login(new_tab(), "ana@example.com")).status == 422


async def test_htmx_delete_answers_with_a_redirect_header(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/account")
    page = await tab.post("/settings/account", {"username": "ana"}, htmx=True)
    assert page.status == 200 and page.headers["HX-Redirect"] == "/"
    assert await fetch_user(app, "ana") is None
    assert not await is_logged_in(tab)


async def test_htmx_delete_with_a_wrong_username_returns_the_form_fragment(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/account")
    page = await tab.post("/settings/account", {"username": "nope"}, htmx=True)
    assert page.status == 422 and page.is_fragment()
    assert page.root_id() == "delete-account-form"
    assert await fetch_user(app, "ana") is not None


async def test_deleting_needs_a_fresh_login(app, tab: Tab) -> None:
    await make_user(app, tab, "ana")
    await tab.get("/settings/account")
    await make_stale(app, "ana")
    page = await tab.post("/settings/account", {"username": "ana"})
    assert page.status == 302 and page.location == "/auth/re-authenticate?next=/settings/account"
    assert await fetch_user(app, "ana") is not None

    await tab.get(page.location)
    assert (await tab.post(page.location, {"password": PASSWORD})).status == 303
    await tab.get("/settings/account")
    assert (await tab.post("/settings/account", {"username": "ana"})).status == 303
    assert await fetch_user(app, "ana") is None
    async with database(app).session(write=False) as session:
        assert (await session.execute(select(func.count(User.id)))).scalar_one() == 0
