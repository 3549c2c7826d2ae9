"""Real-time notifications in a real browser: a follow shows up on the other user's open page.

Two browser contexts (two people, two cookie jars) on the same server:

* B - on the ``page`` fixture: registers (which logs in) and sits on the home page, whose
  ``#live`` element keeps the notification stream open (htmx SSE extension,
  ``sse-connect="/_/notifications/stream"``).
* A - a second context built from the ``browser`` fixture: registers, confirms the address
  through the mail's link (following needs it), opens B's profile and clicks Follow.

Within 2 s, with no reload of B's page (a JS variable set on B's window survives), B's bell
``#bell-count`` goes from hidden to "1" and a ``.toast`` saying "<A> followed you." appears
in ``#toasts``. (Toasts fade out on their own after 6 s, see app.js.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import ACTION_TIMEOUT, Outbox, Server
from .helpers import confirm, mark_window, register, unique, window_survived

WITHIN_MS = 30_000  # a hang guard for the toast and the bell on B's page (speed: bench/sse.py)
STREAM_PATH = "/_/notifications/stream"

# Counts htmx's "the SSE connection is open" events on every page of the context.
COUNT_SSE_OPENS = """
window.__sseOpens = 0;
document.addEventListener("htmx:sseOpen", function () { window.__sseOpens += 1; });
"""


@pytest.fixture
def second_context(browser: Browser, server: Server, artifacts: Path) -> Iterator[BrowserContext]:
    """Another person's browser; its pages are screenshotted if the test fails."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(ACTION_TIMEOUT)
    try:
        yield context
    finally:
        context.close()


def test_a_follow_shows_up_on_the_followed_users_open_page(
    page: Page,
    second_context: BrowserContext,
    server: Server,
    outbox: Outbox,
    artifacts: Path,
    shot: Callable[[str], Path],
) -> None:
    # B: registered (logged in), on the home page, with the stream open.
    b_name, b_username = "Bea Bell", unique("bea")
    page.context.add_init_script(COUNT_SSE_OPENS)
    register(page, name=b_name, username=b_username)
    with page.expect_response(lambda r: STREAM_PATH in r.url) as stream:
        page.goto("/")
    assert stream.value.status == 200, stream.value.status
    assert "text/event-stream" in (stream.value.headers.get("content-type") or "")
    page.wait_for_function("window.__sseOpens >= 1")
    time.sleep(0.3)  # the server subscribes the stream to wake-ups right after its first line
    bell = page.locator("#bell-count")
    expect(bell).to_be_hidden()  # nothing unread yet: the badge is there, hidden, at 0
    expect(bell).to_have_text("0")
    expect(page.locator("#toasts .toast")).to_have_count(0)
    mark_window(page)

    # A: registered and confirmed in a browser of their own, follows B from B's profile.
    a_page = second_context.new_page()
    a_name = "Ada Actor"
    try:
        a_address = register(a_page, name=a_name, username=unique("ada"))
        confirm(a_page, server, outbox, a_address)
        a_page.goto(f"/user/{b_username}")
        follow = a_page.locator(".profile-header .follow-area button.follow-button")
        expect(follow).to_have_text("Follow")
        with a_page.expect_response(lambda r: re.search(r"/_/users/\d+/follow$", r.url) is not None) as answer:
            follow.click()
        followed_at = time.monotonic()
        assert answer.value.status == 200, answer.value.status
        expect(follow).to_have_text("Following")
    except BaseException:
        a_page.screenshot(path=artifacts / "FAILED-notifications-a.png", full_page=True)
        raise

    # B's page, not reloaded: the toast and the bell (how soon is printed; bench/sse.py measures it).
    toast = page.locator("#toasts .toast")
    expect(toast).to_have_count(1, timeout=WITHIN_MS)
    expect(toast).to_contain_text(f"{a_name} followed you.", timeout=WITHIN_MS)
    expect(bell).to_be_visible(timeout=WITHIN_MS)
    expect(bell).to_have_text("1", timeout=WITHIN_MS)
    seen_after = time.monotonic() - followed_at
    print(f"\ntoast and bell on B's page {1000 * seen_after:.0f} ms after the follow's answer")
    expect(toast.get_by_role("link", name=a_name)).to_have_attribute("href", re.compile(r"/user/ada_"))
    # A's avatar (decorative: the name is beside it), loaded; a follow is about no photo.
    avatar = toast.locator("img.notification-avatar")
    expect(avatar).to_have_attribute("alt", "")
    expect(avatar).to_have_attribute("src", re.compile(r"/media/avatars/\w+\.png"))
    assert avatar.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(toast.locator(".notification-photo")).to_have_count(0)
    # The name and the words after it read as one line of text, not as columns of a flex row.
    name_box, words_box = toast.evaluate(
        """toast => {
            const link = toast.querySelector("a");
            const words = document.createRange();
            words.setStartAfter(link);
            words.setEndAfter(link.parentNode.lastChild);
            const box = rect => ({x: rect.x, y: rect.y, right: rect.right});
            return [box(link.getBoundingClientRect()), box(words.getClientRects()[0])];
        }"""
    )
    assert abs(name_box["y"] - words_box["y"]) < 4 and words_box["x"] - name_box["right"] < 8, (name_box, words_box)
    assert window_survived(page), "B's page was reloaded"
    assert page.evaluate("window.__sseOpens") == 1, "the stream reconnected"
    shot("notifications-01-toast-and-bell")
    a_page.screenshot(path=artifacts / "notifications-02-a-following.png", full_page=True)

    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
