"""A person's page (header and tabs), the hover card, and the profile, notification and
privacy settings, through HTTP."""

from __future__ import annotations

import json
import re

import pytest

from hyperpics.models import Visibility

from .conftest import Tab, fetch_user
from .factories import add_collects, add_follows, add_photo
from .helpers import follow_buttons, logged_in, people_on, relationship, text_of, user_ids
from .html import Element, by_id, count, element, elements, find_id, texts

TABS = {
    "photos": ("/user/ana", "Photos"),
    "collections": ("/user/ana/collections", "Collections"),
    "following": ("/user/ana/following", "Following"),
    "followers": ("/user/ana/followers", "Followers"),
}


# --- helpers ------------------------------------------------------------------------------


def profile_form(**changes: str) -> dict[str, str]:
    data = {"name": "Ana", "username": "ana", "website": "", "location": "", "bio": ""}
    data.update(changes)
    return data


def tab_nav(text: str) -> Element:
    return element(text, "nav.tabs")


def current_tabs(text: str) -> list[str]:
    """The labels of the tab links marked aria-current="page"."""
    return [re.match(r"[A-Za-z]+", link.text).group() for link in tab_nav(text).select("a[aria-current=page]")]  # type: ignore[union-attr]


def tab_counts(text: str) -> dict[str, str]:
    """Each tab's label and the count its link shows ("Photos" -> "1"); tabs without one left out."""
    counts = {}
    for link in tab_nav(text).select("a"):
        for shown in link.select("span.count"):
            label = link.text.removesuffix(shown.text).strip()
            assert link.text == f"{label} {shown.text}", link.text
            counts[label] = shown.text
    return counts


def switched_on(text: str, name: str) -> bool:
    """Whether the settings form's switch ``name`` is ticked."""
    switch = by_id(text, name)
    assert switch.tag == "input", switch
    return switch.has("checked")


@pytest.fixture
async def people(app):  # type: ignore[no-untyped-def]
    return await logged_in(app, "ana", "bruno"), await user_ids(app)


# --- the header ---------------------------------------------------------------------------


async def test_profile_header(app, people) -> None:
    tabs, ids = people
    await tabs["ana"].get("/settings/profile")
    saved = await tabs["ana"].post(
        "/settings/profile",
        profile_form(
            name="Ana Lima", website="https://ana.example/photos", location="Lisbon", bio="Film & <b>light</b>"
        ),
    )
    assert saved.status == 303 and saved.location == "/settings/profile"
    user = await fetch_user(app, "ana")
    assert (user.name, user.website, user.location, user.bio) == (
        "Ana Lima",
        "https://ana.example/photos",
        "Lisbon",
        "Film & <b>light</b>",
    )

    page = await Tab(app).get("/user/ana")
    assert page.status == 200
    assert texts(page.text, "h1") == ["Ana Lima"]
    joined = user.member_since.strftime("%B %Y")
    assert f"@ana · Lisbon · joined {joined}" in page.text
    bio = element(page.text, "p.profile-bio")  # shown as typed: the tags are text, not markup
    assert bio.text == "Film & <b>light</b>" and bio.elements == [] and bio.classes == {"profile-bio"}
    link = element(page.text, 'a[href="https://ana.example/photos"]')
    assert "nofollow" in link["rel"].split()
    assert user.avatar_large and f"/media/avatars/{user.avatar_large}" in page.text
    # bruno (no website, no location) has neither.
    other = await Tab(app).get("/user/bruno")
    assert not elements(other.text, "[rel~=nofollow]") and "@bruno · joined" in other.text
    # Usernames are found whatever their case; nobody else is 404.
    assert (await Tab(app).get("/user/ANA")).status == 200
    assert (await Tab(app).get("/user/nobody")).status == 404


@pytest.mark.parametrize(
    "website",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://ana.example/",
        'https://a.example/"onmouseover=x',
    ],
)
async def test_only_web_links_are_saved(app, people, website: str) -> None:
    tabs, ids = people
    await tabs["ana"].get("/settings/profile")
    page = await tabs["ana"].post("/settings/profile", profile_form(website=website, bio="changed"))
    assert page.status == 422
    assert "Enter a web address starting with http:// or https://." in page.text
    htmx = await tabs["ana"].post("/settings/profile", profile_form(website=website, bio="changed"), htmx=True)
    assert htmx.status == 422 and htmx.root_id() == "profile-form" and htmx.is_fragment()
    assert "http://" in htmx.text
    user = await fetch_user(app, "ana")
    assert user.website == "" and user.bio == ""  # nothing saved, not even the other fields
    assert website not in (await Tab(app).get("/user/ana")).text


async def test_an_http_link_is_fine(app, people) -> None:
    tabs, ids = people
    await tabs["ana"].get("/settings/profile")
    assert (await tabs["ana"].post("/settings/profile", profile_form(website="http://ana.example"))).status == 303
    assert (await fetch_user(app, "ana")).website == "http://ana.example"
    assert "nofollow" in element((await Tab(app).get("/user/ana")).text, 'a[href="http://ana.example"]')["rel"].split()


# --- the tabs -----------------------------------------------------------------------------


@pytest.mark.parametrize("tab", list(TABS))
async def test_each_tab_is_a_page_and_a_fragment(app, people, tab: str) -> None:
    tabs, ids = people
    path, label = TABS[tab]
    photo = await add_photo(app, "ana")
    await add_follows(app, ("bruno", "ana"))
    await add_collects(app, ("ana", photo))

    for viewer in (Tab(app), tabs["bruno"]):
        page = await viewer.get(path)
        assert page.status == 200 and "<html" in page.text
        section = by_id(page.text, "profile-tab")
        assert section.tag == "section" and section.attrs == {"id": "profile-tab"}
        assert current_tabs(page.text) == [label]
        assert texts(page.text, "h1") == ["Ana"]  # the header comes with the whole page

        fragment = await viewer.get(path, htmx=True)
        assert fragment.status == 200
        assert fragment.root_id() == "profile-tab" and fragment.is_fragment()
        assert current_tabs(fragment.text) == [label]
        assert count(fragment.text, "h1") == 0  # the header stays; only the tab block swaps
        # Each tab link works both ways: a real href and an htmx swap of #profile-tab.
        for other_path, _label in TABS.values():
            link = tab_nav(fragment.text).select_one(f'a[href="{other_path}"]')
            assert link["hx-get"] == other_path and link["hx-target"] == "#profile-tab"
        if tab in ("photos", "collections"):
            assert find_id(fragment.text, f"photo-card-{photo}")
        else:
            expected = ids["bruno"] if tab == "followers" else None
            assert people_on(fragment.text) == ([expected] if expected else [])
    # The counts in the tab links.
    shown = (await Tab(app).get(path)).text
    assert tab_counts(shown) == {"Photos": "1", "Collections": "1", "Following": "0", "Followers": "1"}
    assert tab_nav(shown).select_one(f"span#follower-count-{ids['ana']}").text == "1"


# --- the user card ------------------------------------------------------------------------


async def test_user_card(app, people) -> None:
    tabs, ids = people
    bruno = ids["bruno"]
    await tabs["bruno"].get("/settings/profile")
    await tabs["bruno"].post(
        "/settings/profile", profile_form(name="Bruno Costa", username="bruno", bio="Street & people")
    )
    await add_photo(app, "bruno")
    await add_photo(app, "bruno", Visibility.PRIVATE)
    user = await fetch_user(app, "bruno")

    card = await tabs["ana"].get(f"/_/users/{bruno}/card", htmx=True)
    assert card.status == 200
    assert card.root_id() == f"user-card-{bruno}" and card.is_fragment()
    assert user.avatar_large and elements(card.text, f'[src="/media/avatars/{user.avatar_large}"]')
    assert "Bruno Costa" in texts(card.text, "strong") and "@bruno" in card.text
    assert "Street &amp; people" in card.text
    assert "1 photo · 0 followers" in text_of(card.text)  # the private photo is not counted for ana
    assert not elements(card.text, '[class="badge relationship"]')
    assert find_id(card.text, f"follow-card-{bruno}") and elements(card.text, "[name=context][value=card]")
    # Per viewer (the badge, the button): private to the browser, and short-lived or revalidated.
    cache_control = card.headers["Cache-Control"]
    assert re.fullmatch(r"private, (max-age=\d+|no-cache)", cache_control), cache_control
    if "max-age" in cache_control:
        assert int(cache_control.rsplit("=", 1)[1]) <= 300, cache_control
    assert "Cookie" in card.headers.get("Vary", "")

    # The follow button works inside the card.
    followed = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"context": "card"}, htmx=True)
    assert followed.status == 200
    assert followed.root_id() == f"follow-card-{bruno}" and followed.is_fragment()
    assert follow_buttons(followed.text) == [("true", "Following")]
    assert elements(followed.text, f'[hx-target="#follow-card-{bruno}"]')
    assert json.loads(followed.headers["HX-Trigger"]) == {"follower-count": {"user": bruno, "count": 1}}
    assert "hx-swap-oob" not in followed.text  # a page without the counts had htmx log an error

    again = await tabs["ana"].get(f"/_/users/{bruno}/card", htmx=True)
    assert "1 photo · 1 follower " in text_of(again.text) and follow_buttons(again.text) == [("true", "Following")]
    # bruno follows back: the card shows the relationship to ana.
    await tabs["bruno"].post(f"/_/users/{ids['ana']}/follow")
    assert relationship((await tabs["ana"].get(f"/_/users/{bruno}/card", htmx=True)).text) == "Follow each other"

    # bruno's own card: both photos, and no button.
    own = await tabs["bruno"].get(f"/_/users/{bruno}/card", htmx=True)
    assert "2 photos · 1 follower " in text_of(own.text) and "follow-button" not in own.text
    # Anonymous: a Follow link to log in, no badge.
    anonymous = await Tab(app).get(f"/_/users/{bruno}/card", htmx=True)
    assert anonymous.status == 200 and elements(anonymous.text, '[href="/auth/login?next=/user/bruno"]')
    assert not elements(anonymous.text, '[class="badge relationship"]')
    assert (await Tab(app).get("/_/users/99999/card", htmx=True)).status == 404


# --- settings -----------------------------------------------------------------------------


async def test_changing_the_username(app, people) -> None:
    tabs, ids = people
    await tabs["ana"].get("/settings/profile")
    page = await tabs["ana"].post("/settings/profile", profile_form(username="ana_lima"))
    assert page.status == 303
    user = await fetch_user(app, "ana_lima")
    assert user is not None and user.id == ids["ana"]
    assert (await Tab(app).get("/user/ana_lima")).status == 200
    assert (await Tab(app).get("/user/ana")).status == 404
    # With htmx a successful save sends the tab to the settings page again.
    await tabs["ana"].get("/settings/profile")
    saved = await tabs["ana"].post("/settings/profile", profile_form(username="ana_lima", location="Porto"), htmx=True)
    assert saved.headers.get("HX-Redirect") == "/settings/profile"
    assert (await fetch_user(app, "ana_lima")).location == "Porto"


@pytest.mark.parametrize("taken", ["bruno", "BRUNO"])
async def test_a_taken_username_is_refused_inline(app, people, taken: str) -> None:
    tabs, ids = people
    await tabs["ana"].get("/settings/profile")
    page = await tabs["ana"].post("/settings/profile", profile_form(username=taken, bio="new bio"))
    assert page.status == 422
    error = by_id(page.text, "username-error")
    assert error.tag == "small" and error.attrs == {
        "id": "username-error",
        "class": "field-error",
        "aria-live": "polite",
    }
    assert error.text == "This username is taken."
    htmx = await tabs["ana"].post("/settings/profile", profile_form(username=taken, bio="new bio"), htmx=True)
    assert htmx.status == 422 and htmx.root_id() == "profile-form" and htmx.is_fragment()
    assert "This username is taken." in htmx.text
    user = await fetch_user(app, "ana")
    assert user is not None and user.bio == ""
    assert (await fetch_user(app, "bruno")).id == ids["bruno"]


async def test_notification_settings_save(app, people) -> None:
    tabs, ids = people
    tab = tabs["ana"]
    page = await tab.get("/settings/notifications")
    assert page.status == 200 and count(page.text, "[role=switch]") == 3
    # Only the comment switch ticked.
    plain = await tab.post("/settings/notifications", {"receive_comment_notification": "y"})
    assert plain.status == 303 and plain.location == "/settings/notifications"
    user = await fetch_user(app, "ana")
    assert (user.receive_follow_notification, user.receive_comment_notification, user.receive_collect_notification) == (
        False,
        True,
        False,
    )
    # With htmx: the form again, saying so, with the switches as saved.
    fragment = await tab.post(
        "/settings/notifications", {"receive_follow_notification": "y", "receive_collect_notification": "y"}, htmx=True
    )
    assert fragment.status == 200
    assert fragment.root_id() == "notifications-form" and fragment.is_fragment()
    assert "Saved" in fragment.text
    assert switched_on(fragment.text, "receive_follow_notification")
    assert not switched_on(fragment.text, "receive_comment_notification")
    user = await fetch_user(app, "ana")
    assert (user.receive_follow_notification, user.receive_comment_notification, user.receive_collect_notification) == (
        True,
        False,
        True,
    )
    # Bruno's settings are untouched.
    other = await fetch_user(app, "bruno")
    assert (
        other.receive_follow_notification and other.receive_comment_notification and other.receive_collect_notification
    )


async def test_privacy_settings_save(app, people) -> None:
    tabs, ids = people
    tab = tabs["ana"]
    page = await tab.get("/settings/privacy")
    assert page.status == 200 and elements(page.text, '[name="public_collections"]') and "Saved" not in page.text
    fragment = await tab.post("/settings/privacy", {}, htmx=True)
    assert fragment.status == 200 and fragment.root_id() == "privacy-form" and fragment.is_fragment()
    assert "Saved" in fragment.text
    assert (await fetch_user(app, "ana")).public_collections is False
    again = await tab.post("/settings/privacy", {"public_collections": "y"}, htmx=True)
    assert "Saved" in again.text and switched_on(again.text, "public_collections")
    assert (await fetch_user(app, "ana")).public_collections is True


@pytest.mark.parametrize("path", ["/settings/profile", "/settings/notifications", "/settings/privacy"])
async def test_settings_need_a_login(app, path: str) -> None:
    tab = Tab(app)
    page = await tab.get(path)
    assert page.status == 302 and page.location == f"/auth/login?next={path}"
    posted = await tab.post(path, {"public_collections": "y"})
    assert posted.status == 302 and posted.location == f"/auth/login?next={path}"


async def test_the_card_follows_the_profile_it_shows(app, people) -> None:
    """A follow involving the person changes their card at once (counts and badge)."""
    tabs, ids = people
    first = await Tab(app).get(f"/_/users/{ids['bruno']}/card", htmx=True)
    assert "0 followers" in text_of(first.text)
    await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow")
    assert "1 follower " in text_of((await Tab(app).get(f"/_/users/{ids['bruno']}/card", htmx=True)).text)
    await tabs["ana"].post(f"/_/users/{ids['bruno']}/unfollow")
    assert "0 followers" in text_of((await Tab(app).get(f"/_/users/{ids['bruno']}/card", htmx=True)).text)


async def test_a_card_never_carries_another_visitors_messages(app, people) -> None:
    tabs, ids = people
    first, second = Tab(app), Tab(app)
    # The first anonymous visitor has a message waiting ("Please log in...").
    assert (await first.get("/settings/profile")).status == 302
    mine = await first.get(f"/_/users/{ids['bruno']}/card", htmx=True)
    assert mine.status == 200 and "Please log in to access this page." in mine.text  # theirs to see
    # Another anonymous visitor loads the same card: nobody else's message in it.
    theirs = await second.get(f"/_/users/{ids['bruno']}/card", htmx=True)
    assert theirs.status == 200 and theirs.root_id() == f"user-card-{ids['bruno']}"
    assert "Please log in to access this page." not in theirs.text
    # Nor is the first visitor's message shown to them twice.
    again = await first.get(f"/_/users/{ids['bruno']}/card", htmx=True)
    assert "Please log in to access this page." not in again.text
