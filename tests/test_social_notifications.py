"""The notification rows social actions write: who receives them, of which kind, about
what; never about one's own things; each opt-out for its own kind; nothing on a refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hyperpics.infra.db import database
from hyperpics.models import Comment, Notification, NotificationKind, User, Visibility

from .conftest import Tab, make_user
from .factories import add_photo
from .helpers import logged_in, user_ids

# --- helpers ------------------------------------------------------------------------------


Row = tuple[NotificationKind, int, int, int | None, int | None]  # kind, receiver, actor, photo, comment


async def notifications(app) -> list[Row]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        rows = (await session.execute(select(Notification).order_by(Notification.id))).scalars()
        return [(n.kind, n.receiver_id, n.actor_id, n.photo_id, n.comment_id) for n in rows]


async def newest_comment_id(app) -> int:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return (await session.execute(select(Comment.id).order_by(Comment.id.desc()).limit(1))).scalar_one()


async def comment(tab: Tab, app, photo: int, body: str, reply_to: int | None = None) -> int:  # type: ignore[no-untyped-def]
    data = {"body": body}
    if reply_to is not None:
        data["reply_to"] = str(reply_to)
    page = await tab.post(f"/_/photos/{photo}/comments", data, htmx=True)
    assert page.status == 200, page.text
    return await newest_comment_id(app)


async def opt_out(tab: Tab, *keep: str) -> None:
    """Save the notification settings with only ``keep`` switched on (through the form)."""
    await tab.get("/settings/notifications")
    page = await tab.post("/settings/notifications", {name: "y" for name in keep})
    assert page.status == 303


ALL = ("receive_follow_notification", "receive_comment_notification", "receive_collect_notification")


@pytest.fixture
async def world(app):  # type: ignore[no-untyped-def]
    """ana, bruno (with a public photo) and carla, each logged in in their own tab."""
    tabs = await logged_in(app, "ana", "bruno", "carla")
    return tabs, await user_ids(app), await add_photo(app, "bruno")


# --- one row per action -------------------------------------------------------------------


async def test_follow_notifies_the_followed(app, world) -> None:
    tabs, ids, photo = world
    assert (await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow")).status == 303
    assert await notifications(app) == [(NotificationKind.FOLLOW, ids["bruno"], ids["ana"], None, None)]
    # Unfollowing writes nothing.
    assert (await tabs["ana"].post(f"/_/users/{ids['bruno']}/unfollow")).status == 303
    assert len(await notifications(app)) == 1


async def test_comment_notifies_the_photo_author(app, world) -> None:
    tabs, ids, photo = world
    made = await comment(tabs["ana"], app, photo, "nice")
    assert await notifications(app) == [(NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, made)]


async def test_reply_notifies_the_replied_to_and_the_photo_author(app, world) -> None:
    tabs, ids, photo = world
    first = await comment(tabs["carla"], app, photo, "where is this?")
    reply = await comment(tabs["ana"], app, photo, "Porto", reply_to=first)
    assert await notifications(app) == [
        (NotificationKind.COMMENT, ids["bruno"], ids["carla"], photo, first),
        (NotificationKind.REPLY, ids["carla"], ids["ana"], photo, reply),
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, reply),
    ]


async def test_a_reply_to_the_photo_author_is_one_notification(app, world) -> None:
    tabs, ids, photo = world
    own = await comment(tabs["bruno"], app, photo, "taken at dawn")
    reply = await comment(tabs["ana"], app, photo, "worth it", reply_to=own)
    assert await notifications(app) == [(NotificationKind.REPLY, ids["bruno"], ids["ana"], photo, reply)]


async def test_collect_notifies_the_photo_author(app, world) -> None:
    tabs, ids, photo = world
    assert (await tabs["ana"].post(f"/_/photos/{photo}/collect", htmx=True)).status == 200
    assert await notifications(app) == [(NotificationKind.COLLECT, ids["bruno"], ids["ana"], photo, None)]
    # Uncollecting writes nothing.
    assert (await tabs["ana"].post(f"/_/photos/{photo}/uncollect", htmx=True)).status == 200
    assert len(await notifications(app)) == 1


# --- never about one's own things ---------------------------------------------------------


async def test_acting_on_your_own_things_notifies_nobody(app, world) -> None:
    tabs, ids, photo = world
    bruno = tabs["bruno"]
    own = await comment(bruno, app, photo, "my own photo")
    await comment(bruno, app, photo, "replying to myself", reply_to=own)
    assert (await bruno.post(f"/_/photos/{photo}/collect", htmx=True)).status == 200
    assert await notifications(app) == []


async def test_replying_to_yourself_on_someone_elses_photo(app, world) -> None:
    """No reply notification to oneself; the photo's author still hears of the new comment."""
    tabs, ids, photo = world
    first = await comment(tabs["ana"], app, photo, "one")
    second = await comment(tabs["ana"], app, photo, "and another thing", reply_to=first)
    rows = await notifications(app)
    assert rows == [
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, first),
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, second),
    ]
    assert not any(row[1] == ids["ana"] for row in rows)


async def test_the_author_replying_to_a_commenter_notifies_only_the_commenter(app, world) -> None:
    tabs, ids, photo = world
    first = await comment(tabs["ana"], app, photo, "lovely")
    reply = await comment(tabs["bruno"], app, photo, "thanks!", reply_to=first)
    assert await notifications(app) == [
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, first),
        (NotificationKind.REPLY, ids["ana"], ids["bruno"], photo, reply),
    ]


# --- opt-outs -----------------------------------------------------------------------------


async def test_follow_opt_out_is_for_follows_only(app, world) -> None:
    tabs, ids, photo = world
    await opt_out(tabs["bruno"], "receive_comment_notification", "receive_collect_notification")
    assert (await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow")).status == 303
    assert await notifications(app) == []
    assert (await tabs["ana"].post(f"/_/photos/{photo}/collect")).status == 303
    made = await comment(tabs["ana"], app, photo, "still told")
    assert await notifications(app) == [
        (NotificationKind.COLLECT, ids["bruno"], ids["ana"], photo, None),
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, made),
    ]


async def test_comment_opt_out_covers_comments_and_replies_only(app, world) -> None:
    tabs, ids, photo = world
    await opt_out(tabs["bruno"], "receive_follow_notification", "receive_collect_notification")
    own = await comment(tabs["bruno"], app, photo, "hello")
    await comment(tabs["ana"], app, photo, "a comment")
    await comment(tabs["carla"], app, photo, "a reply", reply_to=own)
    assert await notifications(app) == []
    assert (await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow")).status == 303
    assert (await tabs["ana"].post(f"/_/photos/{photo}/collect")).status == 303
    assert await notifications(app) == [
        (NotificationKind.FOLLOW, ids["bruno"], ids["ana"], None, None),
        (NotificationKind.COLLECT, ids["bruno"], ids["ana"], photo, None),
    ]


async def test_a_commenter_who_opted_out_gets_no_reply_but_the_author_is_told(app, world) -> None:
    tabs, ids, photo = world
    await opt_out(tabs["carla"], "receive_follow_notification", "receive_collect_notification")
    first = await comment(tabs["carla"], app, photo, "question")
    reply = await comment(tabs["ana"], app, photo, "answer", reply_to=first)
    assert await notifications(app) == [
        (NotificationKind.COMMENT, ids["bruno"], ids["carla"], photo, first),
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, reply),
    ]


async def test_collect_opt_out_is_for_collects_only(app, world) -> None:
    tabs, ids, photo = world
    await opt_out(tabs["bruno"], "receive_follow_notification", "receive_comment_notification")
    assert (await tabs["ana"].post(f"/_/photos/{photo}/collect")).status == 303
    assert await notifications(app) == []
    assert (await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow")).status == 303
    made = await comment(tabs["ana"], app, photo, "told")
    assert await notifications(app) == [
        (NotificationKind.FOLLOW, ids["bruno"], ids["ana"], None, None),
        (NotificationKind.COMMENT, ids["bruno"], ids["ana"], photo, made),
    ]


async def test_opting_in_again(app, world) -> None:
    tabs, ids, photo = world
    await opt_out(tabs["bruno"])
    assert (await tabs["ana"].post(f"/_/users/{ids['bruno']}/follow")).status == 303
    assert await notifications(app) == []
    await opt_out(tabs["bruno"], *ALL)
    assert (await tabs["carla"].post(f"/_/users/{ids['bruno']}/follow")).status == 303
    assert await notifications(app) == [(NotificationKind.FOLLOW, ids["bruno"], ids["carla"], None, None)]


# --- refusals write nothing ---------------------------------------------------------------


async def test_refused_actions_write_no_notification(app, world) -> None:
    tabs, ids, photo = world
    ana = tabs["ana"]
    # Following yourself.
    assert (await ana.post(f"/_/users/{ids['ana']}/follow")).status == 422
    # A comment that fails validation.
    assert (await ana.post(f"/_/photos/{photo}/comments", {"body": "   "}, htmx=True)).status == 422
    # A reply to a comment of another photo (the comment on the other photo notifies nobody: its author wrote it).
    elsewhere = await add_photo(app, "carla")
    foreign = await comment(tabs["carla"], app, elsewhere, "mine")
    assert (
        await ana.post(f"/_/photos/{photo}/comments", {"body": "x", "reply_to": str(foreign)}, htmx=True)
    ).status >= 400
    # Collecting or commenting on a photo ana cannot see.
    private = await add_photo(app, "bruno", Visibility.PRIVATE)
    assert (await ana.post(f"/_/photos/{private}/collect")).status == 404
    assert (await ana.post(f"/_/photos/{private}/comments", {"body": "hi"})).status == 404
    # Commenting while comments are off.
    assert (await tabs["bruno"].post(f"/_/photos/{photo}/comments/toggle")).status == 303
    assert (await ana.post(f"/_/photos/{photo}/comments", {"body": "hi"})).status == 403
    assert await notifications(app) == []
    async with database(app).session(write=False) as session:
        assert (await session.execute(select(Comment.id).where(Comment.photo_id != elsewhere))).all() == []


@pytest.mark.parametrize("kind", ["unconfirmed", "locked"])
async def test_refused_by_permission_writes_no_notification(app, world, kind: str) -> None:
    tabs, ids, photo = world
    tab = Tab(app)
    if kind == "unconfirmed":
        await make_user(app, tab, "late", confirmed=False)
    else:
        await make_user(app, tab, "late", role="Locked", locked=True)
    assert (await tab.post(f"/_/photos/{photo}/comments", {"body": "hi"})).status == 403
    if kind == "unconfirmed":
        assert (await tab.post(f"/_/users/{ids['bruno']}/follow")).status == 403
        assert (await tab.post(f"/_/photos/{photo}/collect")).status == 403
        assert await notifications(app) == []
    else:
        # A locked user may still follow and collect, and those notify as usual.
        late = (await user_ids(app))["late"]
        assert (await tab.post(f"/_/users/{ids['bruno']}/follow")).status == 303
        assert (await tab.post(f"/_/photos/{photo}/collect")).status == 303
        assert await notifications(app) == [
            (NotificationKind.FOLLOW, ids["bruno"], late, None, None),
            (NotificationKind.COLLECT, ids["bruno"], late, photo, None),
        ]


# --- shown, later -------------------------------------------------------------------------


async def test_a_reply_under_a_photo_gone_private_no_longer_shows_the_photo_or_its_words(app, world) -> None:  # type: ignore[no-untyped-def]
    """Visibility is checked when a notification is shown: the list, the read fragment and
    the stream's toasts."""
    from hyperpics.services import notifications as service

    tabs, ids, photo = world
    first = await comment(tabs["carla"], app, photo, "where is this?")
    await comment(tabs["ana"], app, photo, "the secret beach", reply_to=first)
    before = await tabs["carla"].get("/notifications")
    assert "the secret beach" in before.text and f"/photo/{photo}" in before.text

    await tabs["bruno"].get(f"/photo/{photo}/edit")
    edited = await tabs["bruno"].post(f"/photo/{photo}/edit", {"description": "", "tags": "", "visibility": "private"})
    assert edited.status == 303

    after = await tabs["carla"].get("/notifications")
    assert "replied to your comment on a photo you can no longer see." in after.text
    assert "the secret beach" not in after.text and f"/photo/{photo}" not in after.text
    [reply_id] = [row_id for row_id, kind in await _ids_and_kinds(app, ids["carla"]) if kind is NotificationKind.REPLY]
    read = await tabs["carla"].post(f"/notifications/{reply_id}/read", {"ids": str(reply_id)}, htmx=True)
    assert read.status == 200 and "the secret beach" not in read.text and "no longer see" in read.text
    async with database(app).session(write=False) as session:
        carla = await session.get(User, ids["carla"])
        [toast] = await service.since(session, carla, 0)
    assert toast.out_of_sight
    # The photo's author still sees everything about their own photo.
    own = await tabs["bruno"].get("/notifications")
    assert f"/photo/{photo}" in own.text and "no longer see" not in own.text


async def _ids_and_kinds(app, receiver: int) -> list[tuple[int, NotificationKind]]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        rows = await session.execute(
            select(Notification.id, Notification.kind).where(Notification.receiver_id == receiver)
        )
        return [(row.id, row.kind) for row in rows]
