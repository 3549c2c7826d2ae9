"""Registration: the form, inline checks, the confirmation mail and link."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from hyperpics import create_app
from hyperpics.infra import passwords
from hyperpics.infra.db import database
from hyperpics.models import AuditEntry, User

from .conftest import PASSWORD, Tab, confirm, fetch_user, login, make_user, register
from .factories import add_user
from .html import find_id


async def count_users(app) -> int:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return (await session.execute(select(func.count(User.id)))).scalar_one()


async def test_register_sends_confirmation_over_smtp_and_link_confirms(app, tab: Tab, mailbox) -> None:
    page = await register(tab, "ana", name="Ana Lima")  # then logs in, as the page asks
    assert page.status == 303 and page.location == "/auth/login"

    home = await tab.get("/")
    assert "Hello, Ana Lima." in home.text
    assert find_id(home.text, "confirm-notice")

    user = await fetch_user(app, "ana")
    assert user is not None and not user.confirmed and user.role.name == "User"
    assert user.email == "ana@example.com"

    [message] = mailbox.to("ana@example.com")
    assert "Confirm your email address" in message["Subject"]
    link = mailbox.last_link("ana@example.com")
    assert link.startswith("/auth/confirm/")

    # Opening the link only asks; a scanner fetching it changes nothing.
    shown = await tab.get(link)
    assert shown.status == 200 and find_id(shown.text, "confirm-form")
    assert not (await fetch_user(app, "ana")).confirmed

    done = await tab.post(link)
    assert done.status == 303
    assert (await fetch_user(app, "ana")).confirmed
    assert find_id((await tab.get("/")).text, "confirm-notice") is None


@pytest.fixture
async def real_cost_app(app_config, tmp_path):  # type: ignore[no-untyped-def]
    """The app with argon2 at the cost production uses (the other tests use a cheap one)."""
    application = create_app({**app_config, "PASSWORD_HASHING": "standard"}, instance_path=tmp_path / "real")
    async with application.test_app():
        yield application


async def stored_hash(app, username: str) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import undefer

    async with database(app).session(write=False) as session:
        return (
            (await session.execute(select(User).options(undefer(User.password_hash)).where(User.username == username)))
            .scalar_one()
            .password_hash
        )


async def test_password_is_hashed_with_argon2id_at_the_standard_cost(real_cost_app) -> None:
    await register(Tab(real_cost_app), "ana")
    stored = await stored_hash(real_cost_app, "ana")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in stored
    assert (await login(Tab(real_cost_app), "ana@example.com")).status == 303


async def test_a_hash_made_at_another_cost_is_redone_at_login(real_cost_app) -> None:
    """Hashes of an older (or a test's) cost are brought to the current one when the password is known."""
    passwords.use_profile("fast")
    try:
        await add_user(real_cost_app, "ana")
    finally:
        passwords.use_profile("standard")
    assert "m=65536,t=3,p=4" not in await stored_hash(real_cost_app, "ana")
    assert (await login(Tab(real_cost_app), "ana@example.com")).status == 303
    assert "m=65536,t=3,p=4" in await stored_hash(real_cost_app, "ana")


async def test_invalid_form_answers_422_with_messages_and_writes_nothing(app, tab: Tab, mailbox) -> None:
    await tab.get("/auth/register")
    page = await tab.post(
        "/auth/register",
        {"name": "", "email": "not-an-email", "username": "a b", "password": "short", "password2": "other"},
    )
    assert page.status == 422
    assert "Enter your name." in page.text
    assert "Enter a valid email address" in page.text
    assert "Use only letters, digits and underscores." in page.text
    assert "Use at least 8 characters." in page.text
    assert "The two passwords do not match." in page.text
    assert "<html" in page.text  # without htmx: the whole page again
    assert await count_users(app) == 0
    assert mailbox.messages == []


async def test_htmx_submit_gets_the_form_fragment_on_error_and_a_redirect_header_on_success(app, tab: Tab) -> None:
    await tab.get("/auth/register")
    bad = await tab.post(
        "/auth/register",
        {
            "name": "Ana",
            "email": "ana@example.com",
            "username": "ana",
            "password": "password1",
            "password2": "password1",
        },
        htmx=True,
    )
    assert bad.status == 422 and bad.is_fragment()
    assert bad.root_id() == "register-form"
    assert "This password is too common" in bad.text
    assert "HX-Request" in bad.headers.get("Vary", "")

    good = await tab.post(
        "/auth/register",
        {"name": "Ana", "email": "ana@example.com", "username": "ana", "password": PASSWORD, "password2": PASSWORD},
        htmx=True,
    )
    assert good.status == 200 and good.headers["HX-Redirect"] == "/auth/login"


async def test_username_and_email_are_unique_regardless_of_case(app, tab: Tab, new_tab) -> None:
    await register(tab, "Ana", email="Ana@Example.com")
    other = new_tab()
    page = await register(other, "ANA", email="someone@example.com")
    assert page.status == 422 and "This username is taken." in page.text
    # A taken address is not said on the page (see test_a_taken_email_is_told_only_by_mail).
    page = await register(other, "bruno", email="ANA@example.COM", then_login=False)
    assert page.status == 303 and "already" not in page.text
    assert await count_users(app) == 1


async def test_password_rules(app, tab: Tab) -> None:
    cases = {
        "short": "Use at least 8 characters.",
        "x" * 129: "Use at most 128 characters.",
        "qwertyuiop": "too common",
        "aaaazzzz": "more than two different characters",  # "aaaabbbb" is on the common list
        "carolina_": "cannot be your username",
    }
    for password, message in cases.items():
        await tab.get("/auth/register")
        page = await tab.post(
            "/auth/register",
            {
                "name": "C",
                "email": "c@example.com",
                "username": "carolina_",
                "password": password,
                "password2": password,
            },
        )
        assert page.status == 422, password
        assert message in page.text, (password, page.text[:2000])


async def test_inline_checks_answer_with_the_field_error_slot(app, tab: Tab, new_tab) -> None:
    await register(tab, "ana")
    other = new_tab()
    await other.get("/auth/register")

    async def check(field: str, **values: str):  # type: ignore[no-untyped-def]
        return await other.post("/auth/register/check", values, htmx=True, headers={"HX-Trigger-Name": field})

    taken = await check("username", username="ANA")
    assert taken.status == 200 and taken.root_id() == "username-error"
    assert "This username is taken." in taken.text and taken.is_fragment()

    free = await check("username", username="bruno")
    assert free.root_id() == "username-error" and "taken" not in free.text

    # Whether an address has an account is never said (only its owner learns it, by mail).
    email = await check("email", email="ana@example.com")
    assert email.root_id() == "email-error" and "already" not in email.text and "exists" not in email.text

    weak = await check("password", password="12345678", username="bruno")
    assert "too common" in weak.text

    mismatch = await check("password2", password=PASSWORD, password2="nope")
    assert "do not match" in mismatch.text

    unknown = await check("role", role="Administrator")
    assert unknown.status == 400


async def test_the_admin_address_gets_its_role_only_when_confirmed(app, tab: Tab, mailbox) -> None:  # type: ignore[no-untyped-def]
    """Registering ADMIN_EMAIL first proves nothing: the account is a member until the link
    mailed to that address is used."""
    await register(tab, "boss", email="Admin@Example.com")
    user = await fetch_user(app, "boss")
    assert user.role.name == "User" and not user.confirmed
    assert (await tab.get("/admin/")).status == 403
    assert (await tab.get("/admin/users")).status == 403

    assert (await confirm(tab, mailbox, "admin@example.com")).status == 303
    user = await fetch_user(app, "boss")
    assert user.role.name == "Administrator" and user.confirmed
    assert (await tab.get("/admin/")).status == 200
    async with database(app).session(write=False) as session:
        [entry] = (await session.execute(select(AuditEntry))).scalars()
    assert (entry.action, entry.actor_id, entry.target_id) == ("user.role", user.id, user.id)
    assert (entry.before["role"], entry.after["role"]) == ("User", "Administrator")


async def test_other_addresses_stay_members_when_confirmed(app, tab: Tab, mailbox) -> None:  # type: ignore[no-untyped-def]
    await register(tab, "ana")
    await confirm(tab, mailbox, "ana@example.com")
    assert (await fetch_user(app, "ana")).role.name == "User"


@pytest.mark.parametrize("path", ["reset-password", "email-change"])
async def test_every_link_that_proves_the_admin_address_grants_the_role(app, tab: Tab, mailbox, path: str) -> None:  # type: ignore[no-untyped-def]
    """The same rule on the other two links mailed to an address."""
    if path == "reset-password":
        await add_user(app, "boss", email="admin@example.com", confirmed=False)
        await tab.get("/auth/forget-password")
        await tab.post("/auth/forget-password", {"email": "admin@example.com"})
        link = mailbox.last_link("admin@example.com")
        await tab.get(link)
        done = await tab.post(link, {"password": "a brand new passphrase", "password2": "a brand new passphrase"})
    else:
        await make_user(app, tab, "boss")
        await tab.get("/settings/email")
        await tab.post("/settings/email", {"email": "admin@example.com"})
        link = mailbox.last_link("admin@example.com")
        await tab.get(link)
        done = await tab.post(link)
    assert done.status == 303, done.text
    user = await fetch_user(app, "boss")
    assert (user.email, user.role.name, user.confirmed) == ("admin@example.com", "Administrator", True)


async def test_an_unconfirmed_administrator_holds_no_power(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    """MODERATE and ADMINISTER need a confirmed address like every other permission, however
    the role came (an administrator's edit, an old database)."""
    await make_user(app, tab, "boss", role="Administrator", confirmed=False)
    await make_user(app, new_tab(), "bob")
    bob_id = (await fetch_user(app, "bob")).id
    page = await tab.get("/admin/users")
    assert page.status == 403 and "Please confirm your email address first." in page.text
    refused = await tab.post(f"/_/admin/users/{bob_id}/block", {"confirmed": "1"})
    assert refused.status == 403
    assert (await fetch_user(app, "bob")).active


async def test_mail_server_down_keeps_the_account_and_offers_resend(app, tab: Tab, mailbox, smtp) -> None:
    mailbox.refuse = True
    page = await register(tab, "ana")
    assert page.status == 303
    # The mail goes after the answer: the person, once logged in, is offered to resend it.
    home = await tab.get("/")
    assert "Resend the email" in home.text and mailbox.to("ana@example.com") == []
    assert await fetch_user(app, "ana") is not None

    mailbox.refuse = False
    resend = await tab.post("/auth/resend-confirmation")
    assert resend.status == 303
    assert len(mailbox.to("ana@example.com")) == 1
    assert (await confirm(tab, mailbox, "ana@example.com")).status == 303
    assert (await fetch_user(app, "ana")).confirmed


async def test_mail_server_unreachable_is_not_a_500(app_config, tmp_path) -> None:
    from .conftest import free_port

    app_config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    application = create_app(app_config, instance_path=tmp_path / "instance2")
    async with application.test_app():
        tab = Tab(application)
        page = await register(tab, "ana")
        assert page.status == 303
        assert "Resend the email" in (await tab.get("/")).text


async def test_a_taken_email_is_told_only_by_mail(app, tab: Tab, new_tab, mailbox) -> None:  # type: ignore[no-untyped-def]
    """Sign-up once said "An account with this email already exists": anyone could test any
    address. Now both answers are the same page, and only the mailbox's owner learns it."""
    await register(tab, "ana")
    answers = []
    for username, address in (("bruno", "bruno@example.com"), ("carla", "ANA@example.com")):
        visitor = new_tab()
        page = await register(visitor, username, email=address, then_login=False)
        shown = await visitor.get(page.location)
        text = re.sub(
            r'(csrf-token" content="|name="csrf_token" value="|"X-CSRF-Token": ")[^"]+', r"\1TOKEN", shown.text
        )
        answers.append((page.status, page.location, text.replace(address.lower(), "ADDRESS")))
    assert answers[0] == answers[1]
    assert "Check your mail: we sent a message to ADDRESS." in answers[0][2]
    assert await fetch_user(app, "carla") is None
    confirmation, notice = await mailbox.wait_for("ana@example.com", 2)
    assert notice["Subject"].endswith("You already have an account")
    body = notice.get_body(("plain",)).get_content()
    assert "nothing was created" in body and "/auth/forget-password" in body


async def test_logged_in_user_is_sent_away_from_register(app, tab: Tab) -> None:
    await register(tab, "ana")
    page = await tab.get("/auth/register")
    assert page.status == 302 and page.location == "/"
