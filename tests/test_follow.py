"""Following people through HTTP: the self-swapping button (htmx) and its plain-form twin,
who may follow, the relationship badges, and the followers/following lists."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from hyperpics.infra.db import database
from hyperpics.models import Follow

from .conftest import Tab, make_user
from .factories import add_follows, add_members, add_photo, add_user
from .helpers import (
    VISITORS,
    assert_turned_away,
    follow_buttons,
    logged_in,
    people_on,
    relationship,
    text_of,
    user_ids,
    visitor,
)
from .html import by_id, elements, find_id

# Who is asking, and how to make them (as in test_permissions).
MAY_FOLLOW = {"locked", "user", "moderator", "administrator"}


# --- helpers ------------------------------------------------------------------------------


async def follow_rows(app) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return {(row.follower_id, row.followed_id) for row in (await session.execute(select(Follow))).scalars()}


def follower_count_event(page, user_id: int) -> int:  # type: ignore[no-untyped-def]
    """The count the answer's follower-count event gives the page (app.js shows it)."""
    event = json.loads(page.headers["HX-Trigger"])["follower-count"]
    assert event["user"] == user_id, event
    return int(event["count"])


@pytest.fixture
async def people(app):  # type: ignore[no-untyped-def]
    """ana, bruno and carla, each logged in in their own tab."""
    return await logged_in(app, "ana", "bruno", "carla"), await user_ids(app)


# --- who may follow -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(VISITORS))
async def test_follow_permission_matrix(app, kind: str) -> None:
    await make_user(app, Tab(app), "target")
    tab = await visitor(app, kind)
    ids = await user_ids(app)
    target = ids["target"]
    path = f"/_/users/{target}/follow"

    plain = await tab.post(path, {"next": "/user/target"})
    if kind in MAY_FOLLOW:
        assert plain.status == 303, (kind, plain.status, plain.text)
        assert plain.location == "/user/target"
        assert await follow_rows(app) == {(ids[kind], target)}
        # Unfollow, then follow again through htmx.
        assert (await tab.post(f"/_/users/{target}/unfollow", {"next": "/user/target"})).status == 303
        assert await follow_rows(app) == set()
        fragment = await tab.post(path, {"context": ""}, htmx=True)
        assert fragment.status == 200 and fragment.root_id() == f"follow-{target}", fragment.text
        assert fragment.is_fragment()
        assert await follow_rows(app) == {(ids[kind], target)}
        return

    await assert_turned_away(tab, kind, path, plain, from_page="/user/target")
    assert await follow_rows(app) == set()


@pytest.mark.parametrize("kind", ["anonymous", "blocked"])
async def test_logged_out_visitors_cannot_unfollow(app, kind: str) -> None:
    await make_user(app, Tab(app), "target")
    tab = await visitor(app, kind)
    ids = await user_ids(app)
    if kind == "blocked":
        await add_follows(app, ("blocked", "target"))
    before = await follow_rows(app)
    page = await tab.post(f"/_/users/{ids['target']}/unfollow")
    assert page.status == 302 and page.location.startswith("/auth/login?next=")
    assert await follow_rows(app) == before


# --- the button ---------------------------------------------------------------------------


async def test_htmx_follow_swaps_the_button_and_the_count(app, people) -> None:
    tabs, ids = people
    bruno = ids["bruno"]
    page = await tabs["ana"].get("/user/bruno")
    assert ("false", "Follow") in follow_buttons(page.text)

    followed = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"context": ""}, htmx=True)
    assert followed.status == 200
    assert followed.root_id() == f"follow-{bruno}"
    assert followed.is_fragment()
    assert ("true", "Following") in follow_buttons(followed.text)
    assert elements(followed.text, f'[action="/_/users/{bruno}/unfollow"]')
    assert follower_count_event(followed, bruno) == 1

    # A second follower sees the count that includes both.
    second = await tabs["carla"].post(f"/_/users/{bruno}/follow", {"context": ""}, htmx=True)
    assert follower_count_event(second, bruno) == 2

    unfollowed = await tabs["ana"].post(f"/_/users/{bruno}/unfollow", {"context": ""}, htmx=True)
    assert unfollowed.status == 200 and unfollowed.root_id() == f"follow-{bruno}"
    assert unfollowed.is_fragment()
    assert ("false", "Follow") in follow_buttons(unfollowed.text)
    assert "Following</button>" not in unfollowed.text
    assert elements(unfollowed.text, f'[action="/_/users/{bruno}/follow"]')
    assert follower_count_event(unfollowed, bruno) == 1
    assert await follow_rows(app) == {(ids["carla"], bruno)}

    # The profile page shows the same number where the out-of-band span lands.
    profile = await tabs["ana"].get("/user/bruno")
    assert by_id(profile.text, f"follower-count-{bruno}").text == "1"


async def test_plain_post_redirects_to_next_or_the_profile(app, people) -> None:
    tabs, ids = people
    bruno = ids["bruno"]
    page = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"next": "/explore"})
    assert page.status == 303 and page.location == "/explore"
    # Without a `next` (and no Referer) the button's own page, the profile.
    page = await tabs["ana"].post(f"/_/users/{bruno}/unfollow")
    assert page.status == 303 and page.location == "/user/bruno"
    # An off-site `next` is never followed.
    page = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"next": "https://evil.example/"})
    assert page.status == 303 and page.location == "/user/bruno"
    # Without `next`, the page the form was on (a same-site Referer), never another site's.
    page = await tabs["ana"].post(f"/_/users/{bruno}/unfollow", headers={"Referer": "http://localhost/explore?x=1"})
    assert page.status == 303 and page.location == "/explore?x=1"
    page = await tabs["ana"].post(f"/_/users/{bruno}/follow", headers={"Referer": "http://evil.example/explore"})
    assert page.status == 303 and page.location == "/user/bruno"
    assert await follow_rows(app) == {(ids["ana"], bruno)}


async def test_following_twice_is_harmless(app, people) -> None:
    tabs, ids = people
    bruno = ids["bruno"]
    assert (await tabs["ana"].post(f"/_/users/{bruno}/follow", {"context": ""}, htmx=True)).status == 200
    again = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"context": ""}, htmx=True)
    assert again.status == 200, again.text
    assert ("true", "Following") in follow_buttons(again.text)
    assert follower_count_event(again, bruno) == 1
    plain = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"next": "/user/bruno"})
    assert plain.status == 303, plain.text
    assert await follow_rows(app) == {(ids["ana"], bruno)}


async def test_unfollowing_someone_not_followed_is_harmless(app, people) -> None:
    tabs, ids = people
    page = await tabs["ana"].post(f"/_/users/{ids['bruno']}/unfollow", {"context": ""}, htmx=True)
    assert page.status == 200 and ("false", "Follow") in follow_buttons(page.text)
    assert follower_count_event(page, ids["bruno"]) == 0


async def test_following_yourself_is_refused(app, people) -> None:
    tabs, ids = people
    plain = await tabs["ana"].post(f"/_/users/{ids['ana']}/follow")
    assert plain.status == 422
    assert "You cannot follow yourself." in plain.text
    htmx = await tabs["ana"].post(f"/_/users/{ids['ana']}/follow", htmx=True)
    assert htmx.status == 422 and htmx.is_fragment()
    assert await follow_rows(app) == set()


async def test_following_nobody_or_a_blocked_account_is_404(app, people) -> None:
    tabs, ids = people
    assert (await tabs["ana"].post("/_/users/99999/follow")).status == 404
    from .conftest import set_user

    await set_user(app, "carla", active=False)
    assert (await tabs["ana"].post(f"/_/users/{ids['carla']}/follow")).status == 404
    assert await follow_rows(app) == set()


# --- relationship badges ------------------------------------------------------------------


async def test_badges_on_the_profile_and_the_card(app, people) -> None:
    tabs, ids = people
    bruno = ids["bruno"]
    # Nobody follows anybody: no badge.
    assert relationship((await tabs["ana"].get("/user/bruno")).text) is None
    assert relationship((await tabs["ana"].get(f"/_/users/{bruno}/card", htmx=True)).text) is None

    # bruno follows ana: on bruno's page and card, ana reads "Follows you".
    assert (await tabs["bruno"].post(f"/_/users/{ids['ana']}/follow")).status == 303
    assert relationship((await tabs["ana"].get("/user/bruno")).text) == "Follows you"
    assert relationship((await tabs["ana"].get(f"/_/users/{bruno}/card", htmx=True)).text) == "Follows you"
    # ...and bruno, on ana's page, has no badge (he follows her; she does not follow back).
    assert relationship((await tabs["bruno"].get("/user/ana")).text) is None
    # Others see no badge about bruno; nor does bruno on his own page.
    assert relationship((await tabs["carla"].get("/user/bruno")).text) is None
    assert relationship((await Tab(app).get("/user/bruno")).text) is None
    assert relationship((await tabs["bruno"].get("/user/bruno")).text) is None

    # ana follows back: "Follow each other", on both sides, page and card.
    followed = await tabs["ana"].post(f"/_/users/{bruno}/follow", {"context": ""}, htmx=True)
    assert relationship(followed.text) == "Follow each other"
    assert relationship((await tabs["ana"].get("/user/bruno")).text) == "Follow each other"
    assert relationship((await tabs["ana"].get(f"/_/users/{bruno}/card", htmx=True)).text) == "Follow each other"
    assert relationship((await tabs["bruno"].get("/user/ana")).text) == "Follow each other"
    assert relationship((await tabs["bruno"].get(f"/_/users/{ids['ana']}/card", htmx=True)).text) == "Follow each other"

    # bruno unfollows: ana is left with no badge, bruno sees "Follows you" on ana's page.
    await tabs["bruno"].post(f"/_/users/{ids['ana']}/unfollow")
    assert relationship((await tabs["ana"].get("/user/bruno")).text) is None
    assert relationship((await tabs["bruno"].get("/user/ana")).text) == "Follows you"


# --- the lists ----------------------------------------------------------------------------


async def _many_follows(app, ids: dict[str, int], direction: str) -> list[int]:  # type: ignore[no-untyped-def]
    """25 people following ana (or followed by her), one a minute; newest last in the list."""
    prefix = "fan" if direction == "followers" else "idol"
    others = await add_members(app, [f"{prefix}{index:02d}" for index in range(25)])
    pairs = {
        index: (others[index], ids["ana"]) if direction == "followers" else (ids["ana"], others[index])
        for index in range(25)
    }
    # Inserted in an order unrelated to time, so the list must sort by created_at.
    await add_follows(app, *((*pairs[index], index) for index in [*range(0, 25, 2), *range(1, 25, 2)]))
    return others


@pytest.mark.parametrize("direction", ["followers", "following"])
async def test_lists_are_newest_first_and_paginated(app, people, direction: str) -> None:
    tabs, ids = people
    others = await _many_follows(app, ids, direction)
    newest_first = list(reversed(others))
    viewer = tabs["carla"]

    first = await viewer.get(f"/user/ana/{direction}")
    assert first.status == 200 and "<html" in first.text
    assert people_on(first.text) == newest_first[:20]
    assert elements(first.text, f'[href="/user/ana/{direction}?page=2"]') and "Next →" in first.text
    assert "Page 1 of 2" in first.text and "← Previous" not in first.text

    second = await viewer.get(f"/user/ana/{direction}?page=2")
    assert second.status == 200
    assert people_on(second.text) == newest_first[20:]
    assert "Page 2 of 2" in second.text and "Next →" not in second.text
    assert elements(second.text, f'[href="/user/ana/{direction}?page=1"]')

    # The same list as the tab fragment htmx swaps in.
    fragment = await viewer.get(f"/user/ana/{direction}?page=2", htmx=True)
    assert fragment.status == 200 and fragment.root_id() == "profile-tab" and fragment.is_fragment()
    assert people_on(fragment.text) == newest_first[20:]
    assert elements(fragment.text, '[hx-target="#profile-tab"]')

    # A page past the end shows the last page; each person has a follow button for carla.
    beyond = await viewer.get(f"/user/ana/{direction}?page=9")
    assert people_on(beyond.text) == newest_first[20:]
    assert find_id(beyond.text, f"follow-list-{others[0]}")


async def test_lists_show_the_right_people_with_list_buttons(app, people) -> None:
    tabs, ids = people
    ana = tabs["ana"]
    await tabs["bruno"].post(f"/_/users/{ids['ana']}/follow")
    await ana.post(f"/_/users/{ids['carla']}/follow")

    followers = await ana.get("/user/ana/followers")
    assert people_on(followers.text) == [ids["bruno"]]
    # bruno follows ana and she does not follow back: "Follows you" and a Follow button.
    assert relationship(followers.text) == "Follows you"
    assert find_id(followers.text, f"follow-list-{ids['bruno']}")
    assert elements(followers.text, "[name=context][value=list]")

    following = await ana.get("/user/ana/following")
    assert people_on(following.text) == [ids["carla"]]
    assert ("true", "Following") in follow_buttons(following.text)
    assert "No followers yet." in (await Tab(app).get("/user/bruno/followers")).text

    # A follow from the list answers with the list's button id.
    answer = await ana.post(f"/_/users/{ids['bruno']}/follow", {"context": "list"}, htmx=True)
    assert answer.root_id() == f"follow-list-{ids['bruno']}"
    assert relationship(answer.text) == "Follow each other"

    # Empty lists say so; anonymous visitors see the same lists.
    empty = await Tab(app).get("/user/carla/following")
    assert people_on(empty.text) == [] and "Not following anyone yet." in empty.text
    assert people_on((await Tab(app).get("/user/carla/followers")).text) == [ids["ana"]]


async def test_follower_count_in_the_database_matches_the_button(app, people) -> None:
    tabs, ids = people
    await tabs["carla"].post(f"/_/users/{ids['bruno']}/follow")
    answer = await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow", {"context": ""}, htmx=True)
    async with database(app).session(write=False) as session:
        count = (
            await session.execute(select(func.count()).select_from(Follow).where(Follow.followed_id == ids["bruno"]))
        ).scalar_one()
    assert follower_count_event(answer, ids["bruno"]) == count == 2
    # The card and the profile header agree.
    card = await tabs["carla"].get(f"/_/users/{ids['bruno']}/card", htmx=True)
    assert "2 followers" in text_of(card.text)


async def test_the_feed_walks_every_followed_photo_newest_first_page_by_page(app) -> None:  # type: ignore[no-untyped-def]
    """The feed reads each author's newest photos from a bound on (the page-th newest of the
    authors' latest photos): walking it by its "older" links must still give every photo of
    the people followed (and one's own), in order, with more people followed than a page
    holds, one of them posting far more than the rest, and some photos only their author sees."""
    from hyperpics.models import Visibility

    ana = await make_user(app, Tab(app), "ana")
    followed = [f"p{number}" for number in range(14)]
    for name in [*followed, "dora"]:
        await add_user(app, name)
    await add_follows(app, *(("ana", name) for name in followed))
    expected: list[tuple[int, int]] = []
    for minute in range(90):
        # p0 posts most; the others now and then, p13 only long ago; dora is not followed;
        # every ninth of the others' photos is private (theirs alone), ana's own always shown.
        author = (
            "ana" if minute % 11 == 0 else "dora" if minute % 5 == 0
            else followed[1 + minute % 12] if minute % 3 == 0 else "p13" if minute > 80 else "p0"
        )  # fmt: skip
        private = author not in ("ana", "dora") and minute % 9 == 0
        photo = await add_photo(app, author, Visibility.PRIVATE if private else Visibility.PUBLIC, minutes_ago=minute)
        if author != "dora" and not private:
            expected.append((minute, photo))
    walked: list[int] = []
    path = "/"
    for _ in range(20):
        page = await ana.get(path)
        assert page.status == 200
        walked += [int(found) for found in re.findall(r'id="photo-card-(\d+)"', page.text)]
        older = re.search(r'href="(/\?before=[^"]+)"', page.text)
        if older is None:
            break
        path = older.group(1).replace("&amp;", "&")
    assert walked == [photo for _, photo in sorted(expected)]
