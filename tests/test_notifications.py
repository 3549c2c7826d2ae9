"""The notifications page: newest first, grouped, all or unread, mark one (its whole group)
or all read, paginated; the bell in the nav; escaping; only one's own notifications."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, update

from hyperpics.infra.db import database
from hyperpics.models import Notification, NotificationKind, User, utcnow

from .conftest import Page, Tab, set_user
from .factories import add_notification, add_photo
from .helpers import bell, counting, fetch_photo, logged_in, user_ids
from .html import Element, elements, find_id

# --- helpers ------------------------------------------------------------------------------


async def unread_of(app, username: str) -> list[int]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list(
            (
                await session.execute(
                    select(Notification.id)
                    .join(User, User.id == Notification.receiver_id)
                    .where(User.username == username, Notification.read_at.is_(None))
                    .order_by(Notification.id)
                )
            ).scalars()
        )


async def ids_of(app, username: str) -> list[int]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return list(
            (
                await session.execute(
                    select(Notification.id)
                    .join(User, User.id == Notification.receiver_id)
                    .where(User.username == username)
                    .order_by(Notification.id)
                )
            ).scalars()
        )


async def mark(tab: Tab, notification_id: int, ids: list[int], *, htmx: bool = False) -> Page:
    """POST the "Read" form of a line as a browser does: one ``ids`` field per id."""
    if not tab.csrf:
        await tab.get("/notifications")
    body = urlencode([("csrf_token", tab.csrf), *(("ids", str(i)) for i in ids)])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if htmx:
        headers["HX-Request"] = "true"
    response = await tab.client.post(f"/notifications/{notification_id}/read", data=body.encode(), headers=headers)
    return await Page.of(response)


@dataclass
class Line:
    id: int
    unread: bool
    text: str  # the words, without the time
    ids: list[int]  # the hidden ids its "Read" form sends (empty when read)
    element: Element

    @property
    def html(self) -> str:
        return self.element.markup


def lines(html: str) -> list[Line]:
    found = []
    for item in elements(html, "li[id^=notification-]"):
        assert item.get("class") in ("notification", "notification unread"), item.attrs
        words = item.select_one("div.notification-text")
        assert words.attrs == {"class": "notification-text"}
        found.append(
            Line(
                id=int(item["id"].removeprefix("notification-")),
                unread="unread" in item.classes,
                text=words.text.split(" · ")[0],
                ids=[
                    int(hidden["value"]) for hidden in item.select("input[name=ids]") if hidden.get("type") == "hidden"
                ],
                element=item,
            )
        )
    return found


def nav_bell(html: str) -> tuple[bool, int]:
    """(hidden, count) of the bell in the nav."""
    return bell(html)


def oob_bell(html: str) -> tuple[bool, int]:
    """(hidden, count) of the bell an answer swaps into the nav."""
    return bell(html, swapped=True)


@dataclass
class World:
    app: Any
    tabs: dict[str, Tab]
    ids: dict[str, int]
    photo: int  # bob's

    async def follow(self, who: str, whom: str) -> None:
        assert (await self.tabs[who].post(f"/_/users/{self.ids[whom]}/follow")).status == 303

    async def collect(self, who: str, photo: int | None = None) -> None:
        page = await self.tabs[who].post(f"/_/photos/{photo or self.photo}/collect", htmx=True)
        assert page.status == 200, page.text

    async def comment(self, who: str, body: str, photo: int | None = None) -> None:
        page = await self.tabs[who].post(f"/_/photos/{photo or self.photo}/comments", {"body": body}, htmx=True)
        assert page.status == 200, page.text


@pytest.fixture
async def world(app) -> World:  # type: ignore[no-untyped-def]
    """bob (with a public photo) and ana, carla, dan, each logged in in a tab."""
    tabs = await logged_in(app, "bob", "ana", "carla", "dan")
    return World(app, tabs, await user_ids(app), await add_photo(app, "bob"))


async def scene(world: World) -> None:
    """Oldest first: carla collects, dan collects, carla follows, ana collects, dan comments."""
    await world.collect("carla")
    await world.collect("dan")
    await world.follow("carla", "bob")
    await world.collect("ana")
    await world.comment("dan", "lovely")


# --- the list -----------------------------------------------------------------------------


async def test_the_list_is_newest_first_and_grouped(world: World) -> None:
    await scene(world)
    page = await world.tabs["bob"].get("/notifications")
    assert page.status == 200
    shown = lines(page.text)
    assert [line.text for line in shown] == [
        "Dan commented on your photo: “lovely”",
        "Ana and 2 others collected your photo.",
        "Carla followed you.",
    ]
    assert all(line.unread for line in shown)
    all_ids = await ids_of(world.app, "bob")
    comment_id, ana_collect, follow_id, dan_collect, carla_collect = sorted(all_ids, reverse=True)
    # A line is named after its newest notification and its form sends every id it stands for.
    assert [line.id for line in shown] == [comment_id, ana_collect, follow_id]
    assert sorted(shown[1].ids) == sorted([ana_collect, dan_collect, carla_collect])
    assert shown[0].ids == [comment_id] and shown[2].ids == [follow_id]


async def test_two_others_of_one_is_singular(world: World) -> None:
    await world.collect("carla")
    await world.collect("ana")
    await world.follow("dan", "bob")
    await world.follow("ana", "bob")
    page = await world.tabs["bob"].get("/notifications")
    assert [line.text for line in lines(page.text)] == [
        "Ana and 1 other followed you.",
        "Ana and 1 other collected your photo.",
    ]


async def test_the_unread_filter_shows_only_unread(world: World) -> None:
    await scene(world)
    bob = world.tabs["bob"]
    follow_line = [line for line in lines((await bob.get("/notifications")).text) if "followed" in line.text][0]
    assert (await mark(bob, follow_line.id, follow_line.ids)).status == 303

    unread = await bob.get("/notifications?filter=unread")
    assert [line.text for line in lines(unread.text)] == [
        "Dan commented on your photo: “lovely”",
        "Ana and 2 others collected your photo.",
    ]
    assert all(line.unread for line in lines(unread.text))
    everything = lines((await bob.get("/notifications")).text)
    assert [(line.text, line.unread) for line in everything][-1] == ("Carla followed you.", False)
    assert everything[-1].ids == []  # a read line has no "Read" form


async def test_htmx_asks_for_the_list_only(world: World) -> None:
    await scene(world)
    bob = world.tabs["bob"]
    for path, expected in (("/notifications?filter=unread", 3), ("/notifications", 3), ("/notifications?page=1", 3)):
        fragment = await bob.get(path, htmx=True)
        assert fragment.status == 200, (path, fragment.status)
        assert fragment.is_fragment() and fragment.root_id() == "notification-list", path
        assert len(lines(fragment.text)) == expected
        assert "Mark all as read" in fragment.text


async def test_nothing_unread_says_so(world: World) -> None:
    page = await world.tabs["bob"].get("/notifications?filter=unread")
    assert "Nothing unread." in page.text and lines(page.text) == []
    assert "No notifications yet." in (await world.tabs["bob"].get("/notifications")).text


# --- marking read -------------------------------------------------------------------------


async def test_marking_one_line_read_marks_its_whole_group(world: World) -> None:
    await scene(world)
    bob = world.tabs["bob"]
    collected = lines((await bob.get("/notifications")).text)[1]
    assert len(collected.ids) == 3
    before = await unread_of(world.app, "bob")

    answer = await mark(bob, collected.id, collected.ids, htmx=True)
    assert answer.status == 200
    assert answer.is_fragment() and answer.root_id() == f"notification-{collected.id}"
    [line] = lines(answer.text)
    assert not line.unread and line.ids == [] and line.text == "Ana and 2 others collected your photo."
    assert oob_bell(answer.text) == (False, 2)
    assert await unread_of(world.app, "bob") == sorted(set(before) - set(collected.ids))
    # And the nav bell on the next page agrees.
    assert nav_bell((await bob.get("/")).text) == (False, 2)


async def test_marking_the_last_line_read_hides_the_bell(world: World) -> None:
    await world.follow("ana", "bob")
    bob = world.tabs["bob"]
    [line] = lines((await bob.get("/notifications")).text)
    answer = await mark(bob, line.id, line.ids, htmx=True)
    assert oob_bell(answer.text) == (True, 0)


async def test_mark_all_read_is_one_update(world: World) -> None:
    await scene(world)
    for _ in range(20):  # more than a page
        await world.comment("ana", "again")
    await world.follow("bob", "carla")  # someone else's, left alone
    assert len(await unread_of(world.app, "bob")) == 25
    bob = world.tabs["bob"]
    await bob.get("/notifications")
    with counting(world.app) as statements:
        page = await bob.post("/notifications/read-all")
    assert page.status == 303
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    notification_updates = [s for s in updates if "notifications" in s.split("SET")[0]]
    assert len(notification_updates) == 1, notification_updates
    assert await unread_of(world.app, "bob") == []
    assert len(await unread_of(world.app, "carla")) == 1
    page = await bob.get("/notifications")
    assert not any(line.unread for line in lines(page.text))
    assert nav_bell(page.text) == (True, 0)
    assert "Mark all as read" not in page.text


async def test_mark_all_read_with_htmx_returns_the_list_and_the_bell(world: World) -> None:
    await scene(world)
    bob = world.tabs["bob"]
    await bob.get("/notifications")
    answer = await bob.post("/notifications/read-all", htmx=True)
    assert answer.status == 200 and answer.root_id() == "notification-list"
    assert len(lines(answer.text)) == 3 and not any(line.unread for line in lines(answer.text))
    assert oob_bell(answer.text) == (True, 0)


async def test_someone_elses_notification_cannot_be_marked(world: World) -> None:
    await world.follow("ana", "carla")  # carla's
    await world.follow("ana", "bob")  # bob's
    [carla_id] = await unread_of(world.app, "carla")
    [bob_id] = await unread_of(world.app, "bob")
    bob = world.tabs["bob"]
    await bob.get("/notifications")

    assert (await mark(bob, carla_id, [carla_id])).status == 303
    answer = await mark(bob, carla_id, [carla_id], htmx=True)
    assert answer.status == 404 and f"notification-{carla_id}" not in answer.text
    assert await unread_of(world.app, "carla") == [carla_id]
    # Smuggled into the ids of one's own line: still only one's own is marked.
    answer = await mark(bob, bob_id, [bob_id, carla_id], htmx=True)
    assert answer.status == 200 and answer.root_id() == f"notification-{bob_id}"
    assert await unread_of(world.app, "bob") == []
    assert await unread_of(world.app, "carla") == [carla_id]
    # The list of one never shows another's.
    assert [line.id for line in lines((await bob.get("/notifications")).text)] == [bob_id]


# --- pagination ---------------------------------------------------------------------------


async def test_twenty_per_page(world: World) -> None:
    """45 follows a day apart each (so none group): pages of 20, 20 and 5, newest first."""
    for age in range(45, 0, -1):
        await add_notification(world.app, NotificationKind.FOLLOW, "bob", "ana", minutes_ago=25 * 60 * age)
    newest_first = list(reversed(await ids_of(world.app, "bob")))
    bob = world.tabs["bob"]
    pages = {}
    for number in (1, 2, 3):
        page = await bob.get(f"/notifications?page={number}")
        pages[number] = page
        assert f"Page {number} of 3" in page.text
    assert [line.id for line in lines(pages[1].text)] == newest_first[:20]
    assert [line.id for line in lines(pages[2].text)] == newest_first[20:40]
    assert [line.id for line in lines(pages[3].text)] == newest_first[40:]
    assert "Older →" in pages[1].text and "← Newer" not in pages[1].text
    assert "Older →" not in pages[3].text and "← Newer" in pages[3].text
    # Out of range or nonsense: the nearest real page.
    assert [line.id for line in lines((await bob.get("/notifications?page=99")).text)] == newest_first[40:]
    assert [line.id for line in lines((await bob.get("/notifications?page=abc")).text)] == newest_first[:20]
    # The unread filter paginates the unread ones only.
    async with database(world.app).session(write=True) as session:
        await session.execute(
            update(Notification).where(Notification.id.in_(newest_first[:30])).values(read_at=utcnow())
        )
        await session.commit()
    unread = await bob.get("/notifications?filter=unread")
    assert [line.id for line in lines(unread.text)] == newest_first[30:]
    assert "Page 1 of" not in unread.text  # 15 fit on one page


# --- the bell -----------------------------------------------------------------------------


async def test_the_bell_shows_the_unread_count_on_every_page(world: World) -> None:
    await scene(world)
    bob, ana = world.tabs["bob"], world.tabs["ana"]
    for path in ("/", "/explore", "/notifications", f"/photo/{world.photo}", "/user/ana", "/settings/notifications"):
        page = await bob.get(path)
        assert page.status == 200, path
        assert nav_bell(page.text) == (False, 5), path
        assert nav_bell((await ana.get(path)).text) == (True, 0), path
    assert find_id((await Tab(world.app).get("/")).text, "bell-count") is None  # nobody's bell


# --- escaping -----------------------------------------------------------------------------


async def test_notification_text_is_escaped(world: World) -> None:
    await set_user(world.app, "ana", name="<b>Ana</b>")
    await world.comment("ana", "<script>alert(1)</script>")
    page = await world.tabs["bob"].get("/notifications")
    [line] = lines(page.text)
    assert "<script>alert(1)" not in page.text and "<b>Ana</b>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in line.html
    assert "&lt;b&gt;Ana&lt;/b&gt;" in line.html


# --- who may -------------------------------------------------------------------------------


async def test_anonymous_is_sent_to_log_in(app, world: World) -> None:  # type: ignore[no-untyped-def]
    await world.follow("ana", "bob")
    stranger = Tab(app)
    page = await stranger.get("/notifications")
    assert page.status == 302 and page.location.startswith("/auth/login?next=")
    assert "notifications" in page.location
    [notification_id] = await unread_of(app, "bob")
    for path in (f"/notifications/{notification_id}/read", "/notifications/read-all"):
        answer = await stranger.post(path, {"ids": str(notification_id)})
        assert answer.status in (302, 303) and answer.location.startswith("/auth/login"), (path, answer.status)
    assert await unread_of(app, "bob") == [notification_id]


# --- pictures -----------------------------------------------------------------------------


async def test_lines_show_the_actors_avatar_and_the_photos_thumbnail(world: World) -> None:
    avatar = "a" * 24 + "_m.png"
    async with database(world.app).session(write=True) as session:
        await session.execute(update(User).where(User.username == "dan").values(avatar_medium=avatar))
        await session.execute(update(User).where(User.username.in_(["carla", "ana"])).values(avatar_medium=None))
        await session.commit()
    await world.collect("carla")
    await world.follow("ana", "bob")
    await world.comment("dan", "lovely")
    page = await world.tabs["bob"].get("/notifications")
    comment, follow, collect = lines(page.text)
    photo = await fetch_photo(world.app, world.photo)
    assert photo.alt == "a public photo by bob"
    # Dan's avatar (its alt is empty: his name is written beside it), and the photo, linked.
    picture = comment.element.select_one("img.notification-avatar")
    assert {name: picture.get(name) for name in ("class", "src", "width", "height", "alt")} == {
        "class": "avatar notification-avatar",
        "src": f"/media/avatars/{avatar}",
        "width": "40",
        "height": "40",
        "alt": "",
    }
    assert picture.span < comment.element.select_one(".notification-text").span  # before the words
    for line in (comment, collect):
        thumb = line.element.select_one("a.notification-photo")
        assert thumb.attrs == {"class": "notification-photo", "href": f"/photo/{world.photo}", "tabindex": "-1"}
        [image] = thumb.elements
        assert image.tag == "img" and image.attrs == {
            "src": f"/media/photos/{photo.filename_small}?v=public",
            "width": "48",
            "height": "48",
            "alt": photo.alt,
            "loading": "lazy",
        }
    # Without an avatar, the initial; a follow is about no photo.
    for line, initial in ((collect, "C"), (follow, "A")):
        shown = line.element.select_one("span.avatar-initial")
        assert (
            shown.attrs == {"class": "avatar notification-avatar avatar-initial", "aria-hidden": "true"}
            and shown.text == initial
        )
    assert "notification-photo" not in follow.html


async def test_a_photo_out_of_sight_shows_no_thumbnail(world: World) -> None:
    from hyperpics.models import Photo, Visibility

    await world.comment("dan", "lovely")
    async with database(world.app).session(write=True) as session:
        await session.execute(update(Photo).where(Photo.id == world.photo).values(visibility=Visibility.PRIVATE))
        await session.commit()
    # Bob still sees his own photo; the notification he got is about a photo he can see.
    [line] = lines((await world.tabs["bob"].get("/notifications")).text)
    assert "notification-photo" in line.html
    # Dan's reply notification about a photo that went private shows no picture of it.
    await add_notification(world.app, NotificationKind.COLLECT, "ana", "bob", photo=world.photo)
    [line] = lines((await world.tabs["ana"].get("/notifications")).text)
    assert "a photo you can no longer see" in line.text and "notification-photo" not in line.html
    words = line.element.select_one(".notification-text")
    assert all(image.span < words.span for image in line.element.select("img"))  # no picture from the words on


async def test_pictures_cost_no_statement_per_line(world: World) -> None:
    """Actors and photos come with the list's one statement for rows: three lines or twenty
    cost the same."""
    await world.collect("carla")
    await world.comment("dan", "lovely")
    with counting(world.app) as few:
        assert len(lines((await world.tabs["bob"].get("/notifications")).text)) == 2
    others = [await add_photo(world.app, "bob", minutes_ago=i) for i in range(8)]
    for photo in others:
        await world.collect("ana", photo)
        await world.comment("carla", "nice", photo)
    with counting(world.app) as many:
        shown = lines((await world.tabs["bob"].get("/notifications")).text)
    assert len(shown) == 18 and sum("notification-photo" in line.html for line in shown) == 18
    assert len(many) == len(few), many
