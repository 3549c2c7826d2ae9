"""Links sent by mail (confirm, reset password, change email): tampered, expired, reused,
or meant for another purpose or another person, they are refused with a 400 page and
change nothing.

Expiry is tested by moving itsdangerous' clock (the ``time`` its ``timed`` module reads):
either the link is signed in the past, or it is checked in the future.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import itsdangerous.timed
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import undefer

from hyperpics.infra.db import database
from hyperpics.infra.tokens import MAX_AGE_SECONDS, Purpose
from hyperpics.models import User

from .conftest import PASSWORD, Mailbox, Tab, confirm, fetch_user, login, logout, make_user, register
from .html import elements, find_id

NEW_PASSWORD = "a brand new passphrase"
NEW_EMAIL = "ana.new@example.com"


# --- the three kinds of link --------------------------------------------------------------


@dataclass
class Link:
    purpose: Purpose
    path: str
    form: dict[str, str]  # what the POST sends
    applied: Callable[[], Awaitable[bool]]  # whether the action of the link has been taken


async def password_hash(app, username: str) -> str:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return (
            (await session.execute(select(User).options(undefer(User.password_hash)).where(User.username == username)))
            .scalar_one()
            .password_hash
        )


async def confirm_link(app, mailbox: Mailbox) -> Link:  # type: ignore[no-untyped-def]
    assert (await register(Tab(app), "ana")).status == 303

    async def applied() -> bool:
        return (await fetch_user(app, "ana")).confirmed

    return Link(Purpose.CONFIRM, mailbox.last_link("ana@example.com"), {}, applied)


async def reset_link(app, mailbox: Mailbox) -> Link:  # type: ignore[no-untyped-def]
    tab = await make_user(app, Tab(app), "ana")
    await logout(tab)
    await tab.get("/auth/forget-password")
    assert (await tab.post("/auth/forget-password", {"email": "ana@example.com"})).status == 303
    before = await password_hash(app, "ana")

    async def applied() -> bool:
        return await password_hash(app, "ana") != before

    return Link(
        Purpose.RESET_PASSWORD,
        mailbox.last_link("ana@example.com"),
        {"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
        applied,
    )


async def change_email_link(app, mailbox: Mailbox) -> Link:  # type: ignore[no-untyped-def]
    tab = await make_user(app, Tab(app), "ana")
    await tab.get("/settings/email")
    assert (await tab.post("/settings/email", {"email": NEW_EMAIL})).status == 303

    async def applied() -> bool:
        return (await fetch_user(app, "ana")).email == NEW_EMAIL

    return Link(Purpose.CHANGE_EMAIL, mailbox.last_link(NEW_EMAIL), {}, applied)


MAKERS = {
    Purpose.CONFIRM: confirm_link,
    Purpose.RESET_PASSWORD: reset_link,
    Purpose.CHANGE_EMAIL: change_email_link,
}
PREFIXES = {
    Purpose.CONFIRM: "/auth/confirm/",
    Purpose.RESET_PASSWORD: "/auth/reset-password/",
    Purpose.CHANGE_EMAIL: "/settings/email/confirm/",
}
every_purpose = pytest.mark.parametrize("purpose", list(Purpose), ids=[p.value for p in Purpose])


async def make_link(purpose: Purpose, app, mailbox: Mailbox) -> Link:  # type: ignore[no-untyped-def]
    link = await MAKERS[purpose](app, mailbox)
    assert link.path.startswith(PREFIXES[purpose]), link.path
    return link


def with_token(link: Link, token: str) -> str:
    return PREFIXES[link.purpose] + token


def token_of(link: Link) -> str:
    return link.path.removeprefix(PREFIXES[link.purpose])


def shift_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the clock itsdangerous signs and checks with (and only that clock)."""
    real = time.time
    monkeypatch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: real() + seconds))


async def assert_refused(tab: Tab, path: str, form: dict[str, str], message: str) -> None:
    """Both opening and submitting ``path`` answer 400 with ``message``."""
    shown = await tab.get(path)
    assert shown.status == 400, shown.text[:1500]
    assert message in shown.text
    assert find_id(shown.text, "token-error")
    posted = await tab.post(path, form)
    assert posted.status == 400, posted.text[:1500]
    assert message in posted.text


# --- tampered -----------------------------------------------------------------------------


def tamper_signature(token: str) -> str:
    """Change the first character of the signature (the part after the last dot)."""
    payload, _, signature = token.rpartition(".")
    replacement = "A" if signature[0] != "A" else "B"
    return f"{payload}.{replacement}{signature[1:]}"


def decode_payload(part: str) -> dict[str, Any]:
    """The JSON a token carries (itsdangerous: unpadded URL-safe base64, uncompressed when small)."""
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@every_purpose
async def test_a_link_with_a_changed_signature_is_not_valid(app, mailbox, purpose: Purpose) -> None:
    link = await make_link(purpose, app, mailbox)
    forged = with_token(link, tamper_signature(token_of(link)))
    assert forged != link.path

    opener = Tab(app)
    await assert_refused(opener, forged, link.form, "This link is not valid.")
    assert not await link.applied()
    # The genuine link still works: the forgery is what was refused.
    assert (await opener.get(link.path)).status == 200


@every_purpose
async def test_a_link_with_a_changed_payload_is_not_valid(app, mailbox, purpose: Purpose) -> None:
    link = await make_link(purpose, app, mailbox)
    payload, ts, signature = token_of(link).split(".")
    data = decode_payload(payload)
    assert data["uid"] == (await fetch_user(app, "ana")).id
    data["uid"] += 1
    changed = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")

    await assert_refused(
        Tab(app), with_token(link, f"{changed}.{ts}.{signature}"), link.form, "This link is not valid."
    )
    assert not await link.applied()


@every_purpose
async def test_a_link_for_one_purpose_is_not_valid_for_another(app, mailbox, purpose: Purpose) -> None:
    link = await make_link(purpose, app, mailbox)
    for other in Purpose:
        if other is purpose:
            continue
        misplaced = PREFIXES[other] + token_of(link)
        await assert_refused(Tab(app), misplaced, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}, "not valid")
    assert not await link.applied()


async def test_a_link_signed_with_another_key_is_not_valid(app, mailbox) -> None:
    link = await make_link(Purpose.CONFIRM, app, mailbox)
    payload = decode_payload(token_of(link).split(".")[0])
    forged = URLSafeTimedSerializer("not-the-secret-key", salt="hyperpics-confirm").dumps(payload)
    await assert_refused(Tab(app), with_token(link, forged), {}, "This link is not valid.")
    assert not await link.applied()


# --- expired ------------------------------------------------------------------------------


@every_purpose
async def test_a_link_checked_after_its_lifetime_has_expired(app, mailbox, monkeypatch, purpose: Purpose) -> None:
    link = await make_link(purpose, app, mailbox)

    shift_clock(monkeypatch, MAX_AGE_SECONDS[purpose] - 60)
    assert (await Tab(app).get(link.path)).status == 200  # a minute before the end: still good

    shift_clock(monkeypatch, MAX_AGE_SECONDS[purpose] + 60)
    await assert_refused(Tab(app), link.path, link.form, "This link has expired.")
    monkeypatch.undo()
    assert not await link.applied()


@every_purpose
async def test_a_link_signed_long_ago_has_expired(app, mailbox, monkeypatch, purpose: Purpose) -> None:
    shift_clock(monkeypatch, -(MAX_AGE_SECONDS[purpose] + 60))
    link = await make_link(purpose, app, mailbox)
    monkeypatch.undo()

    await assert_refused(Tab(app), link.path, link.form, "This link has expired.")
    assert not await link.applied()


async def test_an_expired_reset_link_offers_a_new_one(app, mailbox, monkeypatch) -> None:
    link = await make_link(Purpose.RESET_PASSWORD, app, mailbox)
    shift_clock(monkeypatch, 2 * 3600)
    page = await Tab(app).get(link.path)
    assert page.status == 400 and elements(page.text, '[href="/auth/forget-password"]')


# --- used ---------------------------------------------------------------------------------


@every_purpose
async def test_a_used_link_cannot_be_used_again(app, mailbox, purpose: Purpose) -> None:
    link = await make_link(purpose, app, mailbox)
    opener = Tab(app)
    assert (await opener.get(link.path)).status == 200
    assert (await opener.post(link.path, link.form)).status == 303
    assert await link.applied()

    await assert_refused(Tab(app), link.path, link.form, "This link has already been used.")


async def test_a_used_confirm_link_in_a_confirmed_session_just_says_so(app, tab: Tab, mailbox) -> None:
    await register(tab, "ana")
    await confirm(tab, mailbox, "ana@example.com")  # through the link, logged in
    page = await tab.get(mailbox.last_link("ana@example.com"))
    assert page.status == 303 and page.location == "/"
    assert "Your email address is already confirmed." in (await tab.get("/")).text


async def test_a_password_change_in_settings_uses_up_a_pending_reset_link(app, mailbox) -> None:
    link = await make_link(Purpose.RESET_PASSWORD, app, mailbox)
    tab = Tab(app)
    assert (await login(tab, "ana@example.com")).status == 303
    await tab.get("/settings/password")
    changed = await tab.post(
        "/settings/password", {"old_password": PASSWORD, "password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert changed.status == 303

    page = await Tab(app).get(link.path)
    assert page.status == 400 and "already been used" in page.text


async def test_a_confirm_link_stops_working_once_the_address_changed(app, tab: Tab, mailbox) -> None:
    await register(tab, "ana")
    old_link = mailbox.last_link("ana@example.com")
    await tab.get("/settings/email")
    assert (await tab.post("/settings/email", {"email": NEW_EMAIL})).status == 303
    change = mailbox.last_link(NEW_EMAIL)
    await tab.get(change)
    assert (await tab.post(change)).status == 303

    page = await Tab(app).get(old_link)
    assert page.status == 400 and "already been used" in page.text


async def test_a_reset_link_mailed_to_the_old_address_stops_working_once_the_address_changed(app, mailbox) -> None:
    link = await make_link(Purpose.RESET_PASSWORD, app, mailbox)  # mailed to ana@example.com
    tab = Tab(app)
    assert (await login(tab, "ana@example.com")).status == 303
    await tab.get("/settings/email")
    assert (await tab.post("/settings/email", {"email": NEW_EMAIL})).status == 303
    change = mailbox.last_link(NEW_EMAIL)
    await tab.get(change)
    assert (await tab.post(change)).status == 303
    assert (await fetch_user(app, "ana")).email == NEW_EMAIL

    # Whoever still reads the old mailbox must not be able to take the account over.
    await assert_refused(Tab(app), link.path, link.form, "already been used")
    assert not await link.applied()


# --- someone else's link ------------------------------------------------------------------


async def test_a_confirm_link_of_one_user_never_confirms_another(app, mailbox, new_tab) -> None:
    ana_tab, bruno_tab = new_tab(), new_tab()
    await register(ana_tab, "ana")
    await register(bruno_tab, "bruno")
    ana_link = mailbox.last_link("ana@example.com")
    bruno_link = mailbox.last_link("bruno@example.com")

    # Bruno, logged in and unconfirmed, opens Ana's link: it is about Ana, not him.
    shown = await bruno_tab.get(ana_link)
    assert shown.status == 200 and "ana@example.com" in shown.text and "@ana" in shown.text
    assert (await bruno_tab.post(ana_link)).status == 303
    assert (await fetch_user(app, "ana")).confirmed
    assert not (await fetch_user(app, "bruno")).confirmed
    assert find_id((await bruno_tab.get("/")).text, "confirm-notice")

    # His own link is untouched by that.
    await bruno_tab.get(bruno_link)
    assert (await bruno_tab.post(bruno_link)).status == 303
    assert (await fetch_user(app, "bruno")).confirmed


async def test_a_link_for_a_deleted_account_is_refused(app, mailbox, new_tab) -> None:
    tab = new_tab()
    await register(tab, "ana")
    link = mailbox.last_link("ana@example.com")
    await tab.get("/settings/account")
    assert (await tab.post("/settings/account", {"username": "ana"})).status == 303
    assert await fetch_user(app, "ana") is None

    await assert_refused(new_tab(), link, {}, "This link is for an account that no longer exists.")


# --- bound to the account's security state ------------------------------------------------
# A change-email link once survived a password change: every mailed link is voided by a
# password change, an email change, and a newer link of its own kind.


async def _set_password_hash(app, username: str) -> None:  # type: ignore[no-untyped-def]
    from hyperpics.infra import passwords

    async with database(app).session(write=True) as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one()
        user.password_hash = await passwords.hash_password("a different passphrase")
        await session.commit()


async def _set_email(app, username: str, email: str) -> None:  # type: ignore[no-untyped-def]
    async with database(app).session(write=True) as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar_one()
        user.email = email
        await session.commit()


@every_purpose
async def test_a_password_change_voids_every_link(app, tab: Tab, mailbox: Mailbox, purpose: Purpose) -> None:  # type: ignore[no-untyped-def]
    link = await make_link(purpose, app, mailbox)
    await _set_password_hash(app, "ana")
    changed = await password_hash(app, "ana")
    await assert_refused(tab, link.path, link.form, "This link has already been used.")
    assert await password_hash(app, "ana") == changed
    if purpose is not Purpose.RESET_PASSWORD:  # (its "applied" is a changed hash)
        assert not await link.applied()


@every_purpose
async def test_an_email_change_voids_every_link(app, tab: Tab, mailbox: Mailbox, purpose: Purpose) -> None:  # type: ignore[no-untyped-def]
    link = await make_link(purpose, app, mailbox)
    await _set_email(app, "ana", "ana.elsewhere@example.com")
    await assert_refused(tab, link.path, link.form, "This link has already been used.")
    assert not await link.applied()


async def test_a_newer_change_email_link_voids_the_earlier_one(app, tab: Tab, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    member = await make_user(app, Tab(app), "ana")
    for address in ("first@example.com", "second@example.com"):
        await member.get("/settings/email")
        assert (await member.post("/settings/email", {"email": address})).status == 303
    first, second = mailbox.last_link("first@example.com"), mailbox.last_link("second@example.com")
    await assert_refused(tab, first, {}, "A newer link was sent since this one")
    assert (await fetch_user(app, "ana")).email == "ana@example.com"
    await tab.get(second)
    assert (await tab.post(second)).status == 303
    assert (await fetch_user(app, "ana")).email == "second@example.com"


async def test_a_newer_confirmation_link_voids_the_earlier_one(app, tab: Tab, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    assert (await register(tab, "ana")).status == 303
    first = mailbox.last_link("ana@example.com")
    assert (await tab.post("/auth/resend-confirmation")).status == 303
    second = mailbox.last_link("ana@example.com")
    await assert_refused(Tab(app), first, {}, "A newer link was sent since this one")
    assert not (await fetch_user(app, "ana")).confirmed
    await tab.get(second)
    assert (await tab.post(second)).status == 303
    assert (await fetch_user(app, "ana")).confirmed


async def test_the_old_address_is_told_when_the_email_changes(app, tab: Tab, mailbox: Mailbox) -> None:  # type: ignore[no-untyped-def]
    link = await change_email_link(app, mailbox)
    assert mailbox.to("ana@example.com") == []  # asking changes nothing yet
    await tab.get(link.path)
    assert (await tab.post(link.path)).status == 303
    [notice] = await mailbox.wait_for("ana@example.com")
    assert notice["Subject"].endswith("Your email address was changed")
    body = notice.get_body(("plain",)).get_content()
    assert NEW_EMAIL in body and "@ana" in body and "If you did not" in body
