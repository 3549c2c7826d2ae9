"""The social layer in a real browser: hover cards, following, comments, and the same without JS.

Two users with random usernames, registered and confirmed through the browser once for
this file (see ``cast`` for why not once per test): A, who uploads a new photo through
/upload for every test, and B, who is logged in on the ``page`` fixture and looks at it.
Each test starts from the same state - a photo nobody has commented on or collected, B not
following A - so the tests run in any order, alone or together, and can be repeated.

The components under test (hyperpics/templates/partials/, hyperpics/partials/):

* user_link.html - a name (and avatar) ``a.user-link`` inside a ``span.user-hover``; htmx
  GETs ``/_/users/<id>/card`` on ``mouseenter delay:300ms, focus delay:300ms`` into the
  sibling ``.card-slot``. CSS shows the slot only while the wrapper is hovered or has the
  focus, and app.js cancels the request if, when the 300 ms are up, the link is neither
  hovered nor focused any more (so brushing past a name costs nothing).
* user_card.html - ``#user-card-<id>``: name, @username, counts and a follow button whose
  area is ``#follow-card-<id>`` (form field context=card).
* follow_button.html / collect_button.html - forms that htmx posts and that swap themselves;
  without JavaScript the same forms post normally and the server answers 303 back.
* comments.html / comment_form.html - ``#comment-form`` posts a comment; the answer is
  appended to ``#comment-list`` and updates ``#comment-count`` and the form out of band; a
  refused comment comes back as 422 and replaces the form, with the message in ``#body-error``.
"""

from __future__ import annotations

import io
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect

from .conftest import ARTIFACTS, Outbox, Server
from .helpers import extra_context, log_in, mark_window, register_and_confirm, unique, window_survived

HOVER_DELAY_MS = 300  # hx-trigger="mouseenter delay:300ms, focus delay:300ms"
WITHIN_MS = 30_000  # a hang guard for what arrives over a stream (speed: bench/sse.py)
# Set once the photo page's comment stream (#comments-live) is open.
COMMENTS_STREAM_OPEN = """
document.addEventListener("htmx:sseOpen", function (event) {
    if (event.target.id === "comments-live") window.__commentsLive = true;
});
"""
CARD_WITHIN_MS = 2_000  # how soon a card must show once the pointer rests on a name

# Same pattern as hyperpics.infra.image_checks._MARKUP: the app refuses an image whose bytes look like markup.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|script|body|iframe|svg|object|embed)\b|javascript:", re.IGNORECASE)


# --- people and photos ----------------------------------------------------------------------


@dataclass
class Member:
    name: str
    username: str
    email: str
    id: int = 0
    state: dict | None = None  # the logged-in browser state (cookies), from storage_state()


@dataclass
class Scene:
    """A fresh photo of A's, and B (logged in on the ``page`` fixture) about to look at it."""

    author: Member
    photo_id: int
    viewer: Member


def register_and_confirm_member(page: Page, server: Server, outbox: Outbox, *, prefix: str, name: str) -> Member:
    """A fresh confirmed member (helpers.register_and_confirm), with their id and the
    logged-in browser state, for the other contexts of the test."""
    username = unique(prefix)
    email = register_and_confirm(page, server, outbox, name=name, username=username)
    # The user's id: their own page always has the follow area, "follow-<id>".
    page.goto(f"/user/{username}")
    area_id = page.locator(".profile-header .follow-area").get_attribute("id") or ""
    match = re.fullmatch(r"follow-(\d+)", area_id)
    assert match, f"unexpected follow area id {area_id!r}"
    state = page.context.storage_state()
    return Member(name=name, username=username, email=email, id=int(match.group(1)), state=state)  # type: ignore[arg-type]


def small_jpeg(path: Path, seed: int) -> Path:
    """A real 480x320 JPEG of colour noise (~100 kB), free of anything that looks like markup."""
    rng = random.Random(seed)
    while True:
        image = Image.frombytes("RGB", (480, 320), rng.randbytes(480 * 320 * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=70)
        if not _MARKUP.search(buffer.getvalue()):
            path.write_bytes(buffer.getvalue())
            return path


def upload_photo(page: Page, image: Path) -> int:
    """Upload one photo through /upload (as the logged-in user); returns its id."""
    page.goto("/upload")
    page.set_input_files("#photos", str(image))
    page.get_by_role("button", name="Upload").click()
    row = page.locator("#upload-results li.upload-row.accepted")
    expect(row).to_have_count(1, timeout=15_000)
    href = row.get_by_role("link", name="view photo").get_attribute("href") or ""
    match = re.fullmatch(r"/photo/(\d+)", href)
    assert match, f"unexpected photo link {href!r}"
    return int(match.group(1))


# Why A and B are made once per module, not once per test: the server allows 10 sign-ups
# per hour from one address (hyperpics/ratelimit.py, REGISTER), the rest of the suite
# already uses 6 of them, and each sign-up costs some 4 s (argon2, identicon, mail). Every
# test still starts from a known state: its own fresh photo (no comments, no collectors),
# B not following A (undone if an earlier test followed), and a fresh browser context.


@dataclass
class Cast:
    author: Member
    viewer: Member
    author_page: Page  # A stays logged in on this page, to upload a photo for each test


@pytest.fixture(scope="module")
def cast(browser: Browser, server: Server, artifacts: Path) -> Iterator[Cast]:
    """A and B: two confirmed users, each registered in a browser context of their own."""
    outbox = Outbox(server.outbox)
    with extra_context(browser, server, artifacts, "register-ben") as context:
        viewer = register_and_confirm_member(context.new_page(), server, outbox, prefix="ben", name="Ben Viewer")
    with extra_context(browser, server, artifacts, "author") as context:
        author_page = context.new_page()
        author = register_and_confirm_member(author_page, server, outbox, prefix="ann", name="Ann Author")
        yield Cast(author=author, viewer=viewer, author_page=author_page)


@pytest.fixture
def scene(page: Page, cast: Cast, tmp_path: Path) -> Scene:
    """A uploads a new photo through /upload; B is logged in on ``page``, not following A."""
    author, viewer = cast.author, cast.viewer
    photo_id = upload_photo(cast.author_page, small_jpeg(tmp_path / "harbour.jpg", seed=random.randrange(1 << 30)))

    # B's session cookie, so ``page`` (a fresh context) is B, logged in.
    page.context.add_cookies(viewer.state["cookies"])  # type: ignore[index]
    page.goto(f"/user/{author.username}")
    expect(page.locator("details.user-menu summary")).to_have_text(viewer.name)
    button = page.locator(f"#follow-{author.id} button.follow-button")
    if button.get_attribute("aria-pressed") == "true":  # an earlier test followed A: undo it
        button.click()
        expect(button).to_have_attribute("aria-pressed", "false")
    return Scene(author=author, photo_id=photo_id, viewer=viewer)


# --- page helpers ----------------------------------------------------------------------------


def open_photo(page: Page, photo_id: int) -> None:
    response = page.goto(f"/photo/{photo_id}")
    assert response is not None and response.status == 200, response and response.status
    # htmx is loaded with `defer`: wait until it has processed the page before hovering.
    page.wait_for_function("() => window.htmx !== undefined")
    page.mouse.move(*FAR_AWAY)  # the pointer stays where the last page left it: park it


def author_link(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".author-card a.user-link")


def watch_card_requests(page: Page) -> list[str]:
    """Every request the page makes from now on whose URL contains "/card"."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        if "/card" in request.url:
            seen.append(request.url)

    page.on("request", on_request)
    return seen


def centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


FAR_AWAY = (1200.0, 880.0)  # bottom right of the 1280x900 viewport: no name there


# --- the tests -------------------------------------------------------------------------------


def test_hovering_a_name_shows_the_card(page: Page, scene: Scene, shot: Callable[[str], Path]) -> None:
    open_photo(page, scene.photo_id)
    cards = watch_card_requests(page)
    card = page.locator(f"#user-card-{scene.author.id}")
    expect(card).to_have_count(0)  # nothing is loaded before anyone hovers

    started = time.monotonic()
    author_link(page).hover()
    expect(card).to_be_visible(timeout=CARD_WITHIN_MS)
    took_ms = (time.monotonic() - started) * 1000
    print(f"card visible {took_ms:.0f} ms after the hover (the trigger waits {HOVER_DELAY_MS} ms)")

    expect(card).to_contain_text(scene.author.name)
    expect(card).to_contain_text(f"@{scene.author.username}")
    expect(card).to_contain_text(re.compile(r"\b\d+ photos?\b"))
    # B does not follow A yet, so the card offers to.
    expect(card.locator(f"#follow-card-{scene.author.id} button")).to_have_text("Follow")
    assert len(cards) == 1, cards
    shot("social-01-hover-card")

    # Escape closes it with the pointer still on the name.
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()

    # Moving the pointer away hides the card again (CSS: only while hovered or focused).
    page.mouse.move(*FAR_AWAY)
    expect(card).to_be_hidden()
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_brushing_past_a_name_sends_no_request(page: Page, scene: Scene) -> None:
    open_photo(page, scene.photo_id)
    cards = watch_card_requests(page)
    x, y = centre(page, ".author-card a.user-link")

    # Onto the name and off again well within the 300 ms delay.
    page.mouse.move(*FAR_AWAY)
    entered = time.monotonic()
    page.mouse.move(x, y)
    page.wait_for_timeout(100)
    page.mouse.move(*FAR_AWAY)
    rested_ms = (time.monotonic() - entered) * 1000
    assert rested_ms < HOVER_DELAY_MS - 50, f"the pointer rested {rested_ms:.0f} ms: too slow to test a brush-past"
    page.wait_for_timeout(1000)  # long past the delay: a request would have gone by now
    assert cards == [], f"brushing past the name for {rested_ms:.0f} ms requested the card: {cards}"
    expect(page.locator(f"#user-card-{scene.author.id}")).to_have_count(0)

    # Resting on it for 500 ms asks exactly once.
    page.mouse.move(x, y)
    page.wait_for_timeout(500)
    expect(page.locator(f"#user-card-{scene.author.id}")).to_be_visible()
    assert len(cards) == 1, f"expected one card request after a 500 ms hover, saw {cards}"
    assert cards[0].endswith(f"/_/users/{scene.author.id}/card"), cards
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_focusing_a_name_with_the_keyboard_shows_the_card(
    page: Page, scene: Scene, shot: Callable[[str], Path]
) -> None:
    open_photo(page, scene.photo_id)
    cards = watch_card_requests(page)
    card = page.locator(f"#user-card-{scene.author.id}")

    author_link(page).focus()
    expect(card).to_be_visible(timeout=CARD_WITHIN_MS)
    expect(card).to_contain_text(f"@{scene.author.username}")
    assert len(cards) == 1, cards
    shot("social-03-card-by-focus")

    # The card comes right after the name in the tab order, so Tab moves into it and it
    # stays open (CSS :focus-within); leaving it hides it, and nothing more is requested.
    page.keyboard.press("Tab")
    assert card.evaluate("card => card.contains(document.activeElement)"), "Tab did not move into the card"
    expect(card).to_be_visible()
    # Escape closes it, from inside the card too; focus goes back to the name.
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()
    assert author_link(page).evaluate("link => link === document.activeElement"), "focus was lost"
    page.evaluate("document.activeElement.blur()")
    expect(card).to_be_hidden()
    page.wait_for_timeout(HOVER_DELAY_MS + 200)
    assert len(cards) == 1, cards
    # Focused again, it opens again (nothing new is asked for: the card is already there).
    author_link(page).focus()
    expect(card).to_be_visible(timeout=CARD_WITHIN_MS)
    page.keyboard.press("Escape")
    expect(card).to_be_hidden()
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_following_from_the_card(page: Page, server: Server, scene: Scene, shot: Callable[[str], Path]) -> None:
    open_photo(page, scene.photo_id)
    card = page.locator(f"#user-card-{scene.author.id}")
    author_link(page).hover()
    expect(card).to_be_visible(timeout=CARD_WITHIN_MS)

    mark_window(page)
    area = page.locator(f"#follow-card-{scene.author.id}")
    with page.expect_response(lambda r: r.url.endswith(f"/_/users/{scene.author.id}/follow")) as answer:
        area.get_by_role("button", name="Follow").click()
    assert answer.value.status == 200, answer.value.status
    assert "context=card" in (answer.value.request.post_data or ""), answer.value.request.post_data
    button = area.locator("button.follow-button")
    expect(button).to_have_text("Following")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(card).to_be_visible()  # the pointer is still on the card, which stays open
    expect(card.locator(f".follower-count-{scene.author.id}")).to_have_text("1")  # the answer's event
    assert window_survived(page), "following from the card reloaded the page"
    # The photo page shows no profile count: nothing may fail to find its target.
    assert not [text for text in page.console_errors if "htmx:" in text], page.console_errors  # type: ignore[attr-defined]
    shot("social-04-followed-in-card")

    # What the database says, on A's page.
    page.goto(f"/user/{scene.author.username}")
    profile_button = page.locator(f"#follow-{scene.author.id} button.follow-button")
    expect(profile_button).to_have_text("Following")
    expect(profile_button).to_have_attribute("aria-pressed", "true")
    expect(page.locator(f"#follower-count-{scene.author.id}")).to_have_text("1")
    shot("social-05-profile-following")
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_commenting_without_reload(page: Page, scene: Scene, shot: Callable[[str], Path]) -> None:
    open_photo(page, scene.photo_id)
    comments = page.locator("#comment-list article.comment")
    count = page.locator("#comment-count")
    before = int(count.inner_text())
    form = page.locator("#comment-form")
    body = form.locator("textarea[name=body]")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/comments") else None)
    mark_window(page)

    # A comment: appended to the list, counted, and the form comes back empty.
    text = f"Lovely light on the water ({secrets.token_hex(2)})."
    body.fill(text)
    with page.expect_response(lambda r: r.url.endswith(f"/_/photos/{scene.photo_id}/comments")) as answer:
        form.get_by_role("button", name="Comment").click()
    assert answer.value.status == 200, answer.value.status
    expect(comments).to_have_count(before + 1)
    newest = comments.last
    expect(newest.locator(".comment-body")).to_have_text(text)
    expect(newest.locator("a.user-link")).to_have_text(scene.viewer.name)
    expect(count).to_have_text(str(before + 1))
    expect(body).to_have_value("")
    assert window_survived(page), "posting a comment reloaded the page"

    # An empty comment: the browser itself refuses it (the field is `required`), nothing is sent.
    form.get_by_role("button", name="Comment").click()
    page.wait_for_timeout(300)
    assert body.evaluate("field => field.validity.valueMissing") is True
    assert len(posts) == 1, posts

    # Only spaces pass the browser's check but not the server's: 422, and the swapped-in
    # form says why under the field. Nothing was added.
    body.fill("   ")
    with page.expect_response(lambda r: r.url.endswith(f"/_/photos/{scene.photo_id}/comments")) as answer:
        form.get_by_role("button", name="Comment").click()
    assert answer.value.status == 422, answer.value.status
    expect(page.locator("#body-error")).to_have_text("Write something first.")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(comments).to_have_count(before + 1)
    expect(count).to_have_text(str(before + 1))
    assert window_survived(page), "the refused comment reloaded the page"
    shot("social-06-comment-added-and-empty-refused")

    # The swapped-in form works, and a good comment clears the message.
    body.fill("And the boats!")
    form.get_by_role("button", name="Comment").click()
    expect(comments).to_have_count(before + 2)
    expect(comments.last.locator(".comment-body")).to_have_text("And the boats!")
    expect(count).to_have_text(str(before + 2))
    expect(page.locator("#body-error")).to_have_text("")
    assert window_survived(page)

    # Delete asks first (hx-confirm), then removes the comment in place.
    page.once("dialog", lambda dialog: dialog.accept())
    comments.last.get_by_role("link", name="Delete").click()
    expect(comments).to_have_count(before + 1)
    expect(count).to_have_text(str(before + 1))
    assert window_survived(page), "deleting a comment reloaded the page"
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_replying_in_place_under_the_comment(page: Page, cast: Cast, scene: Scene, shot: Callable[[str], Path]) -> None:
    """A comments; B clicks Reply under it: the form opens right under that comment, naming
    whom it answers; the reply lands in that thread, under the comment, without a reload;
    a second Reply elsewhere closes the first form; Cancel closes it."""
    author_page = cast.author_page
    open_photo(author_page, scene.photo_id)
    for number, words in enumerate(("Taken at low tide.", "The boats came later."), start=1):
        author_page.locator("#comment-form textarea[name=body]").fill(words)
        author_page.locator("#comment-form").get_by_role("button", name="Comment").click()
        expect(author_page.locator("#comment-list li.comment-thread")).to_have_count(number)
        expect(author_page.locator("#comment-form textarea[name=body]")).to_have_value("")  # the fresh form is in

    open_photo(page, scene.photo_id)
    mark_window(page)
    threads = page.locator("#comment-list > li.comment-thread")
    expect(threads).to_have_count(2)
    first, second = threads.nth(0), threads.nth(1)
    second.locator("article.comment").get_by_role("link", name="Reply").click()
    expect(second.locator("#reply-form")).to_be_visible()
    first.locator("article.comment").get_by_role("link", name="Reply").click()
    form = first.locator("#reply-form")
    expect(form).to_be_visible()
    expect(page.locator("#reply-form")).to_have_count(1)  # the other one closed
    expect(form).to_contain_text(f"Reply to {scene.author.name}")
    # Right under the comment it answers, before the next thread.
    comment_box = first.locator("article.comment").bounding_box()
    form_box = form.bounding_box()
    next_box = second.bounding_box()
    assert comment_box and form_box and next_box
    assert comment_box["y"] + comment_box["height"] <= form_box["y"] + 1 < next_box["y"], (
        comment_box,
        form_box,
        next_box,
    )

    form.locator("textarea[name=body]").fill("Which beach?")
    with page.expect_response(lambda r: r.url.endswith(f"/_/photos/{scene.photo_id}/comments")) as answer:
        form.get_by_role("button", name="Reply").click()
    assert answer.value.status == 200
    reply = first.locator("ol.comment-replies article.comment")
    expect(reply).to_have_count(1)
    expect(reply.locator(".comment-body")).to_have_text("Which beach?")
    expect(page.locator("#reply-form")).to_have_count(0)
    expect(page.locator("#comment-count")).to_have_text("3")
    expect(second.locator("ol.comment-replies article.comment")).to_have_count(0)
    shot("social-07-reply-in-its-thread")

    # Cancel closes a reply form without a trace.
    second.locator("article.comment").get_by_role("link", name="Reply").click()
    expect(second.locator("#reply-form")).to_be_visible()
    second.locator("#reply-form").get_by_role("link", name="Cancel").click()
    expect(page.locator("#reply-form")).to_have_count(0)

    # Deleting the thread's comment takes the thread, replies and all (A's own page).
    open_photo(author_page, scene.photo_id)
    author_thread = author_page.locator("#comment-list > li.comment-thread").first
    expect(author_thread.locator("ol.comment-replies article.comment")).to_have_count(1)
    author_page.once("dialog", lambda dialog: dialog.accept())
    author_thread.locator("article.comment").first.get_by_role("link", name="Delete").click()
    expect(author_page.locator("#comment-list > li.comment-thread")).to_have_count(1)
    expect(author_page.locator("#comment-count")).to_have_text("1")
    assert window_survived(page), "replying reloaded the page"
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_comments_appear_on_open_pages_and_the_owner_gets_a_toast_with_pictures(
    page: Page, cast: Cast, scene: Scene, shot: Callable[[str], Path]
) -> None:
    """B has the photo open; A comments there: it appears in B's list without a reload. B
    replies: it appears in A's thread, and A's toast shows B's avatar and the photo."""
    author_page = cast.author_page
    for tab in (page, author_page):
        tab.context.add_init_script(COMMENTS_STREAM_OPEN)
        open_photo(tab, scene.photo_id)
        mark_window(tab)
    for tab in (page, author_page):  # both pages' comment streams are open
        tab.wait_for_function("window.__commentsLive === true", timeout=WITHIN_MS)
    time.sleep(0.3)  # the server subscribes a stream right after its first line

    author_page.locator("#comment-form textarea[name=body]").fill("Low tide, six in the morning.")
    author_page.locator("#comment-form").get_by_role("button", name="Comment").click()
    # On B's page, not reloaded: the comment, in a thread of its own, counted.
    arrived = page.locator("#comment-list > li.comment-thread article.comment")
    expect(arrived).to_have_count(1, timeout=WITHIN_MS)
    expect(arrived.locator(".comment-body")).to_have_text("Low tide, six in the morning.")
    expect(page.locator("#comment-count")).to_have_text("1")
    # Drawn for B: B may reply and report, not delete A's comment.
    expect(arrived.get_by_role("link", name="Reply")).to_be_visible()
    expect(arrived.get_by_role("link", name="Delete")).to_have_count(0)
    # A's own page has it once.
    expect(author_page.locator("#comment-list article.comment")).to_have_count(1)

    # B replies in place; it appears in the thread on A's page, and A gets a toast.
    arrived.get_by_role("link", name="Reply").click()
    page.locator("#reply-form textarea[name=body]").fill("Worth the alarm clock.")
    page.locator("#reply-form").get_by_role("button", name="Reply").click()
    replies = author_page.locator("#comment-list > li.comment-thread ol.comment-replies article.comment")
    expect(replies).to_have_count(1, timeout=WITHIN_MS)
    expect(replies.locator(".comment-body")).to_have_text("Worth the alarm clock.")
    expect(page.locator("ol.comment-replies article.comment")).to_have_count(1)  # once on B's page too
    toast = author_page.locator("#toasts .toast").last
    expect(toast).to_contain_text(f"{scene.viewer.name} replied to your comment", timeout=WITHIN_MS)
    avatar = toast.locator("img.notification-avatar")
    expect(avatar).to_have_attribute("alt", "")
    thumb = toast.locator(".notification-photo img")
    expect(thumb).to_have_attribute("alt", re.compile(".+"))
    expect(thumb).to_have_attribute("src", re.compile(r"/media/photos/\w+_s\.jpg"))
    for picture in (avatar, thumb):  # really loaded
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0"), picture
    shot("social-08-live-comment-and-reply")
    author_page.screenshot(path=ARTIFACTS / "social-09-owner-toast.png", full_page=True)
    assert window_survived(page) and window_survived(author_page), "a page was reloaded"
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]


def test_collect_and_follow_without_javascript(browser: Browser, server: Server, scene: Scene, artifacts: Path) -> None:
    with extra_context(browser, server, artifacts, "no-js", java_script_enabled=False) as context:
        tab = context.new_page()
        htmx_posts: list[str] = []
        tab.on(
            "request",
            lambda r: htmx_posts.append(r.url) if r.method == "POST" and "hx-request" in r.headers else None,
        )

        # Log in with the plain form post.
        log_in(tab, scene.viewer.email)
        expect(tab).to_have_url(server.url + "/")
        expect(tab.locator("details.user-menu summary")).to_have_text(scene.viewer.name)

        # Collect A's photo: a full round trip (303 back to the photo page).
        tab.goto(f"/photo/{scene.photo_id}")
        area = tab.locator(f"#collect-{scene.photo_id}")
        expect(area.locator("button.collect-button")).to_have_text("Collect")
        expect(area.locator(".count")).to_have_text("0")
        with tab.expect_response(lambda r: r.url.endswith(f"/_/photos/{scene.photo_id}/collect")) as answer:
            area.get_by_role("button", name="Collect").click()
        assert answer.value.status == 303, answer.value.status  # a redirect back, not a fragment
        expect(tab).to_have_url(f"{server.url}/photo/{scene.photo_id}")
        expect(tab.locator("#flashes")).to_contain_text("Photo collected.")
        expect(area.locator("button.collect-button")).to_have_text("Collected")
        expect(area.locator("button.collect-button")).to_have_attribute("aria-pressed", "true")
        expect(area.locator(".count")).to_have_text("1")
        expect(area.locator(".collect-count")).to_have_text("1 collector")
        tab.screenshot(path=artifacts / "social-07-nojs-collected.png", full_page=True)

        # Follow A from their page.
        tab.goto(f"/user/{scene.author.username}")
        follow = tab.locator(f"#follow-{scene.author.id}")
        with tab.expect_response(lambda r: r.url.endswith(f"/_/users/{scene.author.id}/follow")) as answer:
            follow.get_by_role("button", name="Follow").click()
        assert answer.value.status == 303, answer.value.status
        expect(tab).to_have_url(f"{server.url}/user/{scene.author.username}")
        expect(tab.locator("#flashes")).to_contain_text(f"You follow {scene.author.name} now.")
        expect(follow.locator("button.follow-button")).to_have_text("Following")
        expect(follow.locator("button.follow-button")).to_have_attribute("aria-pressed", "true")
        expect(tab.locator(f"#follower-count-{scene.author.id}")).to_have_text("1")
        tab.screenshot(path=artifacts / "social-08-nojs-following.png", full_page=True)

        assert htmx_posts == [], f"htmx ran although JavaScript is off: {htmx_posts}"
