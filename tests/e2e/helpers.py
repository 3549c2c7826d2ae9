"""What a person does in the browser before the part a test is about: sign up, log in,
confirm the address, log out. Written once, so every browser test signs up the same way
and a change to the forms is made here only. (Sign-up itself is tested in
test_accounts_browser.py with these same steps.)"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import ACTION_TIMEOUT, Outbox, Server

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    """A username nobody has yet (the tests share one server and database)."""
    return f"{prefix}_{secrets.token_hex(3)}"


def fill_registration(page: Page, *, name: str, email: str, username: str, password: str = PASSWORD) -> None:
    """Fill in the sign-up form on the open page, without sending it."""
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat password", exact=True).fill(password)


def sign_up(page: Page, *, name: str, username: str, email: str | None = None, password: str = PASSWORD) -> str:
    """Send the sign-up form; returns the address. Nothing is waited for: see ``signed_up``
    (two people can sign up at once this way)."""
    address = email or f"{username}@example.com"
    page.goto("/auth/register")
    fill_registration(page, name=name, email=address, username=username, password=password)
    page.get_by_role("button", name="Create my account").click()
    return address


def fill_login(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in with the login form already on the page (sign-up ends on it)."""
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator("#login-form").get_by_role("button", name="Log in").click()


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Open the login page and log in (what comes next is the caller's to wait for)."""
    page.goto("/auth/login")
    fill_login(page, email, password)


def signed_up(page: Page, name: str, address: str, password: str = PASSWORD) -> None:
    """The sign-up went through: it says to check the mail and never logs in (its answer is
    the same for an address that has an account), so log in; the home page greets them."""
    expect(page.locator("#flashes")).to_contain_text("Check your mail")
    fill_login(page, address, password)
    expect(page.get_by_role("heading", name=f"Hello, {name}.")).to_be_visible()


def register(page: Page, *, name: str, username: str, email: str | None = None, password: str = PASSWORD) -> str:
    """Sign up through the form and log in, unconfirmed; returns the address."""
    address = sign_up(page, name=name, username=username, email=email, password=password)
    signed_up(page, name, address, password)
    return address


def confirm(page: Page, server: Server, outbox: Outbox, address: str) -> None:
    """Open the link mailed to ``address`` and press its button, as the person would."""
    link = outbox.newest_link(to=address)
    assert link.startswith(server.url + "/auth/confirm/"), link
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.locator("#flashes")).to_contain_text("your email address is confirmed")
    expect(page.locator("#confirm-notice")).to_have_count(0)


def register_and_confirm(
    page: Page, server: Server, outbox: Outbox, *, name: str, prefix: str = "member", username: str | None = None
) -> str:
    """A fresh member (``username``, or ``prefix``_…), signed up, logged in and confirmed:
    the start of every test about what members do. Returns the address; the page is logged in."""
    address = register(page, name=name, username=username or unique(prefix))
    confirm(page, server, outbox, address)
    expect(page.locator("details.user-menu summary")).to_have_text(name)
    return address


def log_out(page: Page, name: str) -> None:
    """Log out from the user menu (named ``name``); the nav offers to log in again."""
    menu = page.locator("details.dropdown.user-menu")
    menu.locator("summary", has_text=name).click()
    expect(menu).to_have_attribute("open", "")
    page.locator("#logout-button").click()
    expect(page.locator(".site-nav").get_by_role("link", name="Log in", exact=True)).to_be_visible()


def mark_window(page: Page) -> None:
    """Set a JS variable that survives htmx swaps but not a page load."""
    page.evaluate("window.__e2eMarker = 'still-here'")


def window_survived(page: Page) -> bool:
    """Whether the page was changed in place since ``mark_window`` (not loaded again)."""
    return page.evaluate("window.__e2eMarker") == "still-here"


@contextmanager
def extra_context(
    browser: Browser, server: Server, artifacts: Path, label: str, **options: object
) -> Iterator[BrowserContext]:
    """A browser context besides the ``page`` fixture's; on failure its pages are screenshotted."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(ACTION_TIMEOUT)
    try:
        yield context
    except BaseException:
        for number, tab in enumerate(context.pages):
            try:
                tab.screenshot(path=artifacts / f"FAILED-{label}-{number}.png", full_page=True)
            except Exception as error:  # noqa: BLE001 - must not hide the real failure
                print(f"could not screenshot {label}: {error}")
        raise
    finally:
        context.close()
