"""Forgotten passwords: asking for a link (without revealing who has an account), the
reset form and its rules, and what a reset does to the account and its open sessions."""

from __future__ import annotations

from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import AuthSession, User

from .conftest import PASSWORD, Mailbox, Tab, login, logout, make_user, set_user
from .html import elements, find_id

NEW_PASSWORD = "a brand new passphrase"
SAME_ANSWER = "If an account uses that address, a link to choose a new password is on its way."
LOGGED_OUT_NAV = 'class="button-link" href="/auth/login">Log in</a>'
LOGGED_IN_NAV = 'id="logout-button"'


async def ask_for_reset(tab: Tab, address: str):  # type: ignore[no-untyped-def]
    await tab.get("/auth/forget-password")
    return await tab.post("/auth/forget-password", {"email": address})


async def reset_link(app, tab: Tab, mailbox: Mailbox, username: str = "ana", **values) -> str:  # type: ignore[no-untyped-def]
    """Create ``username`` (logged out again), ask for a reset, return the mailed link."""
    await make_user(app, tab, username, **values)
    await logout(tab)
    page = await ask_for_reset(tab, f"{username}@example.com")
    assert page.status == 303, page.text
    link = mailbox.last_link(f"{username}@example.com")
    assert link.startswith("/auth/reset-password/")
    return link


async def open_sessions(app, username: str) -> list[AuthSession]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        result = await session.execute(
            select(AuthSession)
            .join(User, User.id == AuthSession.user_id)
            .where(User.username == username, AuthSession.revoked_at.is_(None))
        )
        return list(result.scalars())


# --- asking for a link --------------------------------------------------------------------


async def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(app, tab: Tab, mailbox) -> None:
    await make_user(app, tab, "ana")
    await logout(tab)
    mails_before = len(mailbox.messages)

    unknown = await ask_for_reset(tab, "nobody@example.com")
    assert unknown.status == 303 and unknown.location == "/auth/login"
    unknown_page = await tab.get("/auth/login")
    assert SAME_ANSWER in unknown_page.text
    assert len(mailbox.messages) == mails_before
    assert mailbox.to("nobody@example.com") == []

    known = await ask_for_reset(tab, "ana@example.com")
    assert known.status == 303 and known.location == unknown.location
    assert SAME_ANSWER in (await tab.get("/auth/login")).text

    [message] = [m for m in mailbox.to("ana@example.com") if "Choose a new password" in m["Subject"]]
    assert mailbox.last_link("ana@example.com").startswith("/auth/reset-password/")
    assert "works for one hour" in message.get_body(("plain",)).get_content()


async def test_the_address_is_matched_regardless_of_case(app, tab: Tab, mailbox) -> None:
    await make_user(app, tab, "ana")
    await logout(tab)
    before = len(mailbox.to("ana@example.com"))
    assert (await ask_for_reset(tab, " ANA@Example.com ")).status == 303
    assert len(mailbox.to("ana@example.com")) == before + 1


async def test_a_blocked_account_gets_no_mail_but_the_same_answer(app, tab: Tab, mailbox) -> None:
    await make_user(app, tab, "ana")
    await logout(tab)
    await set_user(app, "ana", active=False)
    before = len(mailbox.to("ana@example.com"))

    page = await ask_for_reset(tab, "ana@example.com")
    assert page.status == 303
    assert SAME_ANSWER in (await tab.get("/auth/login")).text
    assert len(mailbox.to("ana@example.com")) == before


async def test_an_invalid_address_is_422(app, tab: Tab, mailbox) -> None:
    page = await ask_for_reset(tab, "not-an-email")
    assert page.status == 422 and "Enter a valid email address" in page.text
    assert mailbox.messages == []


async def test_a_mail_failure_is_logged_and_the_answer_stays_the_same(app, tab: Tab, mailbox, caplog) -> None:  # type: ignore[no-untyped-def]
    """The mail goes after the answer, so that known and unknown addresses get the same page
    in the same time: a failure to send is for the log (the person can ask again)."""
    await make_user(app, tab, "ana")
    await logout(tab)
    mailbox.refuse = True
    page = await ask_for_reset(tab, "ana@example.com")
    assert page.status == 303 and page.location == "/auth/login"
    assert mailbox.to("ana@example.com") == []
    assert any("not sent" in record.getMessage() for record in caplog.records)


async def test_known_and_unknown_addresses_get_the_same_answer(app, tab: Tab, mailbox) -> None:  # type: ignore[no-untyped-def]
    """Forgot-password once took about twice as long for a known address (the lookup and the
    mail ran before the answer); now the answer does the same work whoever asks."""
    await make_user(app, tab, "ana")
    await logout(tab)
    known = await ask_for_reset(tab, "ana@example.com")
    unknown = await ask_for_reset(Tab(app), "nobody@example.com")
    assert (known.status, known.location) == (unknown.status, unknown.location) == (303, "/auth/login")
    assert len(await mailbox.wait_for("ana@example.com")) == 1
    assert mailbox.to("nobody@example.com") == []


# --- the reset form -----------------------------------------------------------------------


async def test_the_link_shows_the_reset_form(app, tab: Tab, mailbox) -> None:
    link = await reset_link(app, tab, mailbox)
    page = await tab.get(link)
    assert page.status == 200
    assert find_id(page.text, "reset-password-form")
    assert elements(page.text, f'[action="{link}"]')


async def test_the_new_password_must_follow_the_rules(app, tab: Tab, mailbox, new_tab) -> None:
    link = await reset_link(app, tab, mailbox)
    await tab.get(link)
    cases = [
        ({"password": "short", "password2": "short"}, "Use at least 8 characters."),
        ({"password": "password123", "password2": "password123"}, "This password is too common"),
        ({"password": "ana", "password2": "ana"}, "Use at least 8 characters."),
        ({"password": "ana@example.com", "password2": "ana@example.com"}, "cannot be your email address"),
        ({"password": NEW_PASSWORD, "password2": "something else"}, "The two passwords do not match."),
        ({"password": "", "password2": ""}, "Choose a password."),
    ]
    for data, message in cases:
        page = await tab.post(link, data)
        assert page.status == 422, data
        assert message in page.text, (data, page.text[:1500])
        assert find_id(page.text, "reset-password-form")

    # Nothing changed: the old password still works and the link is still good.
    assert (await login(new_tab(), "ana@example.com", PASSWORD)).status == 303
    assert (await tab.get(link)).status == 200


async def test_a_password_equal_to_the_username_is_refused(app, tab: Tab, mailbox) -> None:
    link = await reset_link(app, tab, mailbox, "carolina_")
    await tab.get(link)
    page = await tab.post(link, {"password": "Carolina_", "password2": "Carolina_"})
    assert page.status == 422 and "Your password cannot be your username." in page.text


async def test_htmx_reset_errors_return_the_form_fragment(app, tab: Tab, mailbox) -> None:
    link = await reset_link(app, tab, mailbox)
    await tab.get(link)
    page = await tab.post(link, {"password": "short", "password2": "short"}, htmx=True)
    assert page.status == 422 and page.is_fragment()
    assert page.root_id() == "reset-password-form"


# --- after the reset ----------------------------------------------------------------------


async def test_reset_changes_the_password_and_logs_out_every_open_session(app, tab: Tab, mailbox, new_tab) -> None:
    link = await reset_link(app, tab, mailbox)
    laptop, phone = new_tab(), new_tab()
    assert (await login(laptop, "ana@example.com")).status == 303
    assert (await login(phone, "ana@example.com", remember=True)).status == 303
    assert len(await open_sessions(app, "ana")) == 2

    await tab.get(link)
    page = await tab.post(link, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert page.status == 303 and page.location == "/auth/login"
    assert "Your password is changed. Log in with the new one." in (await tab.get("/auth/login")).text

    assert await open_sessions(app, "ana") == []
    for device in (laptop, phone):
        home = await device.get("/")
        assert LOGGED_OUT_NAV in home.text and LOGGED_IN_NAV not in home.text
        assert "You have been signed out. Please log in again." in home.text

    old = await login(new_tab(), "ana@example.com", PASSWORD)
    assert old.status == 422 and "Invalid email or password." in old.text
    assert (await login(new_tab(), "ana@example.com", NEW_PASSWORD)).status == 303


async def test_the_same_link_cannot_be_used_twice(app, tab: Tab, mailbox, new_tab) -> None:
    link = await reset_link(app, tab, mailbox)
    await tab.get(link)
    assert (await tab.post(link, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})).status == 303

    shown = await tab.get(link)
    assert shown.status == 400 and "already been used" in shown.text
    assert find_id(shown.text, "reset-password-form") is None

    again = await tab.post(link, {"password": "yet another passphrase", "password2": "yet another passphrase"})
    assert again.status == 400 and "already been used" in again.text
    assert (await login(new_tab(), "ana@example.com", NEW_PASSWORD)).status == 303


async def test_a_newer_link_voids_the_earlier_one(app, tab: Tab, mailbox) -> None:
    first = await reset_link(app, tab, mailbox)
    assert (await ask_for_reset(tab, "ana@example.com")).status == 303
    second = mailbox.last_link("ana@example.com")
    assert second != first
    for method in ("get", "post"):
        refused = await getattr(tab, method)(first)
        assert refused.status == 400 and "A newer link was sent since this one" in refused.text

    await tab.get(second)
    assert (await tab.post(second, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})).status == 303
    page = await tab.get(second)
    assert page.status == 400 and "already been used" in page.text


async def test_resetting_confirms_the_address(app, tab: Tab, mailbox) -> None:
    link = await reset_link(app, tab, mailbox, confirmed=False)
    await tab.get(link)
    assert (await tab.post(link, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})).status == 303
    async with database(app).session(write=False) as session:
        user = (await session.execute(select(User).where(User.username == "ana"))).scalar_one()
    assert user.confirmed


async def test_logged_in_users_are_sent_away_from_forgot_and_reset(app, tab: Tab, mailbox, new_tab) -> None:
    link = await reset_link(app, tab, mailbox)
    other = new_tab()
    await make_user(app, other, "bruno")

    forgot = await other.get("/auth/forget-password")
    assert forgot.status == 302 and forgot.location == "/"
    shown = await other.get(link)
    assert shown.status == 302 and shown.location == "/"
    posted = await other.post(link, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert posted.status == 302 and posted.location == "/"

    # Ana's password did not change.
    assert (await login(new_tab(), "ana@example.com", PASSWORD)).status == 303
