"""Accounts in a real browser: register (with inline checks), confirm by mail, log out, log in."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from .conftest import Outbox, Server
from .helpers import PASSWORD, fill_login, log_out, mark_window, register, unique, window_survived


def test_register_confirm_logout_login(page: Page, server: Server, outbox: Outbox, shot: Callable[[str], Path]) -> None:
    username = unique("ana")
    name = "Ana Lima"
    address = f"{username}@example.com"

    # The form, with its labelled fields.
    response = page.goto("/auth/register")
    assert response is not None and response.ok, response and response.status
    expect(page).to_have_title(re.compile("Join"))
    expect(page.get_by_role("heading", name="Join hyperpics")).to_be_visible()
    shot("accounts-01-register-form")

    # A too-short password is flagged under the field, inline: no reload.
    mark_window(page)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Username", exact=True).fill(username)
    password_error = page.locator("#password-error")
    expect(password_error).to_have_text("")
    with page.expect_response(lambda r: "/auth/register/check" in r.url and r.request.method == "POST") as check:
        page.get_by_label("Password", exact=True).fill("short")
    assert check.value.status == 200, check.value.status
    expect(password_error).to_have_text(re.compile(r"at least 8 characters"))
    expect(password_error).to_be_visible()
    assert window_survived(page), "the inline check reloaded the page"
    shot("accounts-02-register-inline-password-error")

    # Fixing it clears the message, still without a reload.
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    expect(password_error).to_have_text("")
    page.get_by_label("Repeat password", exact=True).fill(PASSWORD)
    expect(page.locator("#password2-error")).to_have_text("")
    for field in ("name", "email", "username"):
        expect(page.locator(f"#{field}-error")).to_have_text("")
    assert window_survived(page)
    shot("accounts-03-register-filled")

    # Create the account: the login page says to check the mail (the same words whether or
    # not the address had an account), then logging in greets by name and asks to confirm.
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(server.url + "/auth/login")
    expect(page.locator("#flashes")).to_contain_text(f"Check your mail: we sent a message to {address}.")
    fill_login(page, address)
    expect(page).to_have_url(server.url + "/")
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_be_visible()
    notice = page.locator("#confirm-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(address)
    shot("accounts-04-home-unconfirmed")

    # The confirmation mail's link opens a page with a button (opening it changes nothing).
    message = outbox.newest(to=address)
    assert "Confirm your email address" in str(message["Subject"])
    link = outbox.newest_link(to=address)
    assert link.startswith(server.url + "/auth/confirm/"), link
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
    expect(page.locator("#confirm-notice")).to_be_visible()
    shot("accounts-05-confirm-page")

    page.get_by_role("button", name="Confirm my email address").click()
    expect(page).to_have_url(server.url + "/")
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_be_visible()
    expect(page.locator("#confirm-notice")).to_have_count(0)
    expect(page.locator("#flashes")).to_contain_text("your email address is confirmed")
    shot("accounts-06-home-confirmed")

    # Log out from the user menu.
    log_out(page, name)
    expect(page.locator("#flashes")).to_contain_text("You are logged out.")
    expect(page.locator("details.user-menu")).to_have_count(0)
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_have_count(0)
    shot("accounts-07-logged-out")

    # Log in again with email and password.
    page.goto("/auth/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    shot("accounts-08-login-form")
    fill_login(page, address)
    expect(page).to_have_url(server.url + "/")
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_be_visible()
    expect(page.locator("details.user-menu summary")).to_have_text(name)
    expect(page.locator("#confirm-notice")).to_have_count(0)
    shot("accounts-09-home-logged-in")

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_wrong_password_is_refused_in_place(page: Page, server: Server, shot: Callable[[str], Path]) -> None:
    username = unique("bo")
    name = "Bo Berg"
    address = f"{username}@example.com"
    register(page, name=name, email=address, username=username)
    log_out(page, name)

    page.goto("/auth/login")
    mark_window(page)
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_label("Password", exact=True).fill("not the right password")
    with page.expect_response(lambda r: "/auth/login" in r.url and r.request.method == "POST") as answer:
        page.locator("#login-form").get_by_role("button", name="Log in").click()
    assert answer.value.status == 422, answer.value.status
    expect(page.locator("#login-form")).to_contain_text("Invalid email or password.")
    expect(page).to_have_url(server.url + "/auth/login")
    assert window_survived(page), "the wrong-password answer reloaded the page"
    # The typed email is kept; the password is not echoed back.
    expect(page.get_by_label("Email", exact=True)).to_have_value(address)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.locator("details.user-menu")).to_have_count(0)
    shot("login-wrong-password")

    # The same form, swapped in place, still works.
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_be_visible()
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_inline_check_reports_a_taken_username(page: Page, shot: Callable[[str], Path]) -> None:
    username = unique("cy")
    register(page, name="Cy Taken", email=f"{username}@example.com", username=username)
    log_out(page, "Cy Taken")

    page.goto("/auth/register")
    mark_window(page)
    page.get_by_label("Username", exact=True).fill(username)
    expect(page.locator("#username-error")).to_have_text("This username is taken.")
    assert window_survived(page)
    shot("register-username-taken")
