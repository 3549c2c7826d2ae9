"""The live notification stream (server-sent events): who receives what and when, replay
after a reconnect, nothing from a rolled-back action, pings, and every way a stream ends
(logout, revoked or blocked sessions, server shutdown, lifetime cap)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from quart import Blueprint, abort
from sqlalchemy import func, select, update

import hyperpics.infra.broadcast as broadcast_module
import hyperpics.partials.notifications_stream as notification_stream
import hyperpics.web.event_streams as stream_module
from hyperpics import create_app
from hyperpics.infra import db
from hyperpics.infra.broadcast import hub
from hyperpics.infra.db import database
from hyperpics.models import AuthSession, Comment, Notification, NotificationKind, User, utcnow
from hyperpics.web.auth import public
from hyperpics.web.event_streams import shutdown_event

from .conftest import PASSWORD, Tab, login, make_user, set_user
from .factories import add_notification, add_photo
from .helpers import bell as swapped_bell
from .helpers import text_of as text
from .helpers import user_ids
from .html import elements, find_id

STREAM = "/_/notifications/stream"
# How long a read waits before the test fails: it only catches a hang (speed is for bench/).
HANG_GUARD = 30.0


# --- reading a stream -----------------------------------------------------------------------


@dataclass
class Event:
    """One SSE block: a comment (``: ping``), a ``retry:`` or an event with id/name/data."""

    raw: str
    id: str | None = None
    name: str | None = None
    data: str = ""
    retry: str | None = None

    @property
    def is_ping(self) -> bool:
        return self.raw.strip() == ": ping"

    @classmethod
    def parse(cls, block: str) -> Event:
        event = cls(raw=block)
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("id: "):
                event.id = line[4:]
            elif line.startswith("event: "):
                event.name = line[7:]
            elif line.startswith("data: ") or line == "data:":
                data.append(line[6:])
            elif line.startswith("retry: "):
                event.retry = line[7:]
        event.data = "\n".join(data)
        return event


class Stream:
    """An open ``GET /_/notifications/stream`` read block by block, always with a timeout."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pending = ""
        self.blocks: list[Event] = []
        self.closed = False
        self.last_id: str | None = None  # what a browser's EventSource remembers: the last id seen

    async def _pull(self, timeout: float) -> None:
        chunk = await asyncio.wait_for(self.conn.receive(), timeout)
        if chunk == b"":  # Quart's last body message (more_body=False): the response ended
            self.closed = True
            return
        self.pending += chunk.decode()
        while "\n\n" in self.pending:
            block, self.pending = self.pending.split("\n\n", 1)
            parsed = Event.parse(block)
            if parsed.id is not None:
                self.last_id = parsed.id
            self.blocks.append(parsed)

    async def next(self, timeout: float = HANG_GUARD, *, skip_pings: bool = True) -> Event:
        """The next block (pings skipped unless asked); fails if none comes in ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self.blocks:
                block = self.blocks.pop(0)
                if not (skip_pings and block.is_ping):
                    return block
            if self.closed:
                raise AssertionError("the stream ended instead of sending an event")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"nothing arrived within {timeout} s")
            try:
                await self._pull(remaining)
            except TimeoutError:
                raise AssertionError(f"nothing arrived within {timeout} s") from None

    async def notification(self, timeout: float = HANG_GUARD) -> Event:
        event = await self.next(timeout)
        assert event.name == "notification", event.raw
        return event

    async def nothing(self, within: float = 0.5, *, allow_pings: bool = False) -> None:
        """Assert that no block at all (or no block but pings) arrives within ``within`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            extra = [b for b in self.blocks if not (allow_pings and b.is_ping)]
            assert not extra, f"unexpected: {[b.raw for b in extra]}"
            self.blocks.clear()
            assert not self.closed, "the stream ended"
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            try:
                await self._pull(remaining)
            except TimeoutError:
                continue

    async def end(self, timeout: float = HANG_GUARD) -> list[Event]:
        """Read until the response ends; fails if it is still open after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"the stream is still open after {timeout} s")
            try:
                await self._pull(remaining)
            except TimeoutError:
                raise AssertionError(f"the stream is still open after {timeout} s") from None
        rest, self.blocks = self.blocks, []
        return rest


@asynccontextmanager
async def open_stream(tab: Tab, last_event_id: int | str | None = None, *, url: str = STREAM) -> AsyncIterator[Stream]:
    """Open a stream (the notifications', unless ``url`` names another) as ``tab`` and read up
    to its first block (which must be ``retry:``)."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else None
    conn = tab.client.request(url, headers=headers)
    await conn.__aenter__()
    stream = Stream(conn)
    try:
        await conn.send_complete()
        first = await stream.next(skip_pings=False)
        assert conn.status_code == 200
        assert first.retry is not None and first.retry.isdigit(), first.raw
        yield stream
    finally:
        await conn.disconnect()
        async with asyncio.timeout(5):
            await conn._task  # the app's handler has finished (and unsubscribed)


# --- the world ------------------------------------------------------------------------------


async def rows_for(app, username: str) -> list[tuple[int, NotificationKind]]:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        result = await session.execute(
            select(Notification.id, Notification.kind)
            .join(User, User.id == Notification.receiver_id)
            .where(User.username == username)
            .order_by(Notification.id)
        )
        return [(row.id, row.kind) for row in result]


async def newest_comment_id(app) -> int:  # type: ignore[no-untyped-def]
    async with database(app).session(write=False) as session:
        return (await session.execute(select(func.max(Comment.id)))).scalar_one()


@dataclass
class World:
    app: Any
    ana: Tab
    bob: Tab
    ids: dict[str, int]
    photo: int  # bob's
    ana_photo: int

    async def follow(self, who: Tab, whom: str) -> None:
        page = await who.post(f"/_/users/{self.ids[whom]}/follow")
        assert page.status == 303, page.text

    async def collect(self, who: Tab, photo: int) -> None:
        page = await who.post(f"/_/photos/{photo}/collect", htmx=True)
        assert page.status == 200, page.text

    async def comment(self, who: Tab, photo: int, body: str, reply_to: int | None = None) -> int:
        data = {"body": body}
        if reply_to is not None:
            data["reply_to"] = str(reply_to)
        page = await who.post(f"/_/photos/{photo}/comments", data, htmx=True)
        assert page.status == 200, page.text
        return await newest_comment_id(self.app)


@pytest.fixture
async def world(app) -> World:  # type: ignore[no-untyped-def]
    """ana and bob, each logged in in a tab; each owns a public photo."""
    ana, bob = Tab(app), Tab(app)
    await make_user(app, ana, "ana")
    await make_user(app, bob, "bob")
    return World(app, ana, bob, await user_ids(app), await add_photo(app, "bob"), await add_photo(app, "ana"))


def bell(data: str) -> int | None:
    """The count of the out-of-band bell in an event's data (None when there is none)."""
    if find_id(data, "bell-count") is None:
        return None
    return swapped_bell(data, swapped=True)[1]


# --- delivery -------------------------------------------------------------------------------


async def test_a_follow_reaches_the_followed_stream_and_not_the_followers(world: World) -> None:
    async with open_stream(world.bob) as bob, open_stream(world.ana) as ana:
        assert bob.conn.headers["Content-Type"].startswith("text/event-stream")
        assert bob.conn.headers["Cache-Control"] == "no-cache"
        await world.follow(world.ana, "bob")
        event = await bob.notification()
        [(notification_id, kind)] = await rows_for(world.app, "bob")
        assert kind is NotificationKind.FOLLOW
        assert event.id == str(notification_id)
        assert find_id(event.data, f"toast-{notification_id}") and elements(event.data, '[class="toast"]')
        toast = re.search(r'<div class="toast"[^>]*>(.*?)</div>', event.data, re.S)
        assert toast is not None and text(toast.group(1)) == "Ana followed you."
        assert bell(event.data) == 1
        # The actor's own stream hears nothing of it.
        await ana.nothing(0.5)
        await bob.nothing(0.3)
    assert hub(world.app).open_streams() == 0  # both unsubscribed on disconnect


async def test_the_bell_count_in_each_event_is_the_unread_count(world: World) -> None:
    async with open_stream(world.bob) as bob:
        await world.follow(world.ana, "bob")
        assert bell((await bob.notification()).data) == 1
        await world.collect(world.ana, world.photo)
        assert bell((await bob.notification()).data) == 2
        # Read everything elsewhere: the next event counts only the new one.
        assert (await world.bob.post("/notifications/read-all")).status == 303
        await world.comment(world.ana, world.photo, "lovely light")
        event = await bob.notification()
        assert bell(event.data) == 1
        assert "commented on" in text(event.data) and "lovely light" in event.data


async def test_every_open_stream_of_the_receiver_gets_it(world: World, app) -> None:  # type: ignore[no-untyped-def]
    phone = Tab(app)  # bob on another device: another session
    assert (await login(phone, "bob@example.com")).status == 303
    async with open_stream(world.bob) as first, open_stream(world.bob) as second, open_stream(phone) as third:
        assert hub(app).open_streams() == 3
        await world.follow(world.ana, "bob")
        ids = {(await stream.notification()).id for stream in (first, second, third)}
        [(notification_id, _)] = await rows_for(app, "bob")
        assert ids == {str(notification_id)}
        for stream in (first, second, third):
            await stream.nothing(0.2)


async def test_toast_text_is_escaped(world: World) -> None:
    async with open_stream(world.bob) as bob:
        await world.comment(world.ana, world.photo, "<script>alert(1)</script>")
        event = await bob.notification()
        assert "<script>" not in event.data
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in event.data


async def test_each_kind_has_its_words_and_links(world: World) -> None:
    asked = await world.comment(world.bob, world.ana_photo, "where is this?")
    async with open_stream(world.bob) as bob:
        await world.follow(world.ana, "bob")
        follow = await bob.notification()
        await world.collect(world.ana, world.photo)
        collect = await bob.notification()
        await world.comment(world.ana, world.photo, "nice")
        comment = await bob.notification()
        await world.comment(world.ana, world.ana_photo, "in Porto", reply_to=asked)
        reply = await bob.notification()
        await bob.nothing(0.3)

    def toast(event: Event) -> str:
        match = re.search(r'<div class="toast"[^>]*>(.*?)</div>', event.data, re.S)
        assert match is not None, event.data
        return text(match.group(1))

    assert toast(follow) == "Ana followed you."
    assert toast(collect) == "Ana collected your photo."
    assert toast(comment) == "Ana commented on your photo: “nice”"
    assert toast(reply) == "Ana replied to your comment: “in Porto”"
    assert elements(follow.data, '[href="/user/ana"]')
    assert elements(collect.data, f'[href="/photo/{world.photo}"]')
    assert [bell(e.data) for e in (follow, collect, comment, reply)] == [1, 2, 3, 4]


async def test_a_comment_cannot_forge_sse_fields(world: World) -> None:
    body = "one\r\n\r\nevent: session-ended\rid: 999\n\ndata: two\n\n: ping"
    async with open_stream(world.bob) as bob:
        await world.comment(world.ana, world.photo, body)
        event = await bob.notification()
        [(notification_id, _)] = await rows_for(world.app, "bob")
        assert event.id == str(notification_id)
        # The lines that look like fields travel as data, inside the toast.
        assert "event: session-ended" in event.data and "id: 999" in event.data
        assert event.raw.count("\nevent: ") == 1 and event.raw.count("id: ") == 2  # its own + the quoted one
        await bob.nothing(0.5)  # no second event, no end


# --- replay ---------------------------------------------------------------------------------


async def test_a_reconnect_with_last_event_id_replays_exactly_what_was_missed(world: World) -> None:
    async with open_stream(world.bob) as bob:
        await world.follow(world.ana, "bob")
        seen = await bob.notification()
    # While bob is away: a collect and a comment.
    await world.collect(world.ana, world.photo)
    await world.comment(world.ana, world.photo, "the missed one")
    rows = await rows_for(world.app, "bob")
    assert [kind for _, kind in rows] == [NotificationKind.FOLLOW, NotificationKind.COLLECT, NotificationKind.COMMENT]
    assert seen.id == str(rows[0][0])
    async with open_stream(world.bob, last_event_id=seen.id) as bob:
        first, second = await bob.notification(), await bob.notification()
        assert [first.id, second.id] == [str(rows[1][0]), str(rows[2][0])]
        assert "collected" in text(first.data)
        assert "the missed one" in text(second.data)
        assert bell(second.data) == 3
        await bob.nothing(0.5)
        # And it goes on live from there.
        await world.comment(world.ana, world.photo, "live again")
        live = await bob.notification()
        assert int(live.id) > int(second.id) and "live again" in live.data


async def test_a_first_connect_does_not_replay_history(world: World) -> None:
    await world.follow(world.ana, "bob")
    await world.collect(world.ana, world.photo)
    async with open_stream(world.bob) as bob:
        await bob.nothing(0.5)
        await world.comment(world.ana, world.photo, "only this")
        event = await bob.notification()
        assert "only this" in event.data
        await bob.nothing(0.3)
    assert event.id == str((await rows_for(world.app, "bob"))[-1][0])


async def test_a_browser_reconnecting_after_the_lifetime_cap_misses_nothing_it_had_seen(
    world: World,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """As EventSource does: reconnect with the last id it saw (here one event was seen)."""
    monkeypatch.setattr(stream_module, "STREAM_LIFETIME", 1.5)
    async with open_stream(world.bob) as bob:
        await world.follow(world.ana, "bob")
        await bob.notification()
        await bob.end()
    monkeypatch.setattr(stream_module, "STREAM_LIFETIME", 600.0)
    await world.collect(world.ana, world.photo)  # during the browser's retry delay
    async with open_stream(world.bob, last_event_id=bob.last_id) as again:
        assert "collected" in text((await again.notification()).data)


async def test_a_browser_reconnecting_after_a_quiet_stream_misses_nothing(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_module, "STREAM_LIFETIME", 0.3)
    await world.follow(world.ana, "bob")  # history: not replayed on the first connect
    async with open_stream(world.bob) as bob:
        await bob.end()
    monkeypatch.setattr(stream_module, "STREAM_LIFETIME", 600.0)
    await world.collect(world.ana, world.photo)  # during the browser's retry delay
    async with open_stream(world.bob, last_event_id=bob.last_id) as again:
        event = await again.notification()
        assert "collected" in text(event.data)


async def test_a_notification_committed_while_the_stream_subscribes_is_delivered(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    the_hub = hub(world.app)
    subscribe = the_hub.subscribe
    bob_id, ana_id = world.ids["bob"], world.ids["ana"]

    @asynccontextmanager
    async def late_subscribe(user_id: int) -> AsyncIterator[asyncio.Queue[str]]:
        # Another request commits a notification for bob and publishes its wake-up just now.
        await add_notification(world.app, NotificationKind.FOLLOW, bob_id, ana_id)
        await the_hub.wake(bob_id)
        await asyncio.sleep(0.05)  # dispatched to the streams subscribed so far: none of bob's
        async with subscribe(user_id) as queue:
            yield queue

    monkeypatch.setattr(the_hub, "subscribe", late_subscribe)
    async with open_stream(world.bob) as bob:
        event = await bob.notification()
        [(notification_id, _)] = await rows_for(world.app, "bob")
        assert event.id == str(notification_id)


async def test_last_event_id_never_replays_someone_elses_notifications(world: World) -> None:
    await world.follow(world.bob, "ana")  # a notification for ana, not bob
    async with open_stream(world.bob, last_event_id=0) as bob:
        await bob.nothing(0.5)


# --- opt-outs and rollbacks -----------------------------------------------------------------


OPT_OUTS = {
    "follow": "receive_follow_notification",
    "comment": "receive_comment_notification",
    "reply": "receive_comment_notification",
    "collect": "receive_collect_notification",
}


@pytest.mark.parametrize("kind", list(OPT_OUTS))
async def test_an_opted_out_kind_sends_no_event_and_writes_no_row(world: World, kind: str) -> None:
    await set_user(world.app, "bob", **{OPT_OUTS[kind]: False})
    reply_target = await world.comment(world.bob, world.ana_photo, "bob asks") if kind == "reply" else None
    async with open_stream(world.bob) as bob:
        if kind == "follow":
            await world.follow(world.ana, "bob")
        elif kind == "collect":
            await world.collect(world.ana, world.photo)
        elif kind == "comment":
            await world.comment(world.ana, world.photo, "nobody hears this")
        else:
            await world.comment(world.ana, world.ana_photo, "ana answers", reply_to=reply_target)
        await bob.nothing(0.5)
        assert await rows_for(world.app, "bob") == []
        # The stream is alive, and only that kind is off: another kind still arrives.
        if kind == "follow":
            await world.collect(world.ana, world.photo)
        else:
            await world.follow(world.ana, "bob")
        await bob.notification()
        assert len(await rows_for(world.app, "bob")) == 1


async def test_following_yourself_is_refused_and_announces_nothing(world: World) -> None:
    async with open_stream(world.bob) as bob, hub(world.app).subscribe(world.ids["bob"]) as wakeups:
        page = await world.bob.post(f"/_/users/{world.ids['bob']}/follow")
        assert page.status == 422
        await bob.nothing(0.5)
        assert wakeups.empty()
    assert await rows_for(world.app, "bob") == []


def _notifying_blueprint() -> Blueprint:
    bp = Blueprint("notifying", __name__)

    @bp.route("/_test/notify/<int:receiver>/<int:actor>/<outcome>", methods=["POST"])
    @public
    async def notify(receiver: int, actor: int, outcome: str) -> tuple[str, int]:
        session = await db.session()
        session.add(
            Notification(kind=NotificationKind.FOLLOW, receiver_id=receiver, actor_id=actor, created_at=utcnow())
        )
        await session.flush()
        if outcome == "explode":
            raise RuntimeError("after the notification was written")
        if outcome == "refuse":
            abort(409)
        return "ok", 201

    return bp


@pytest.fixture
async def notifying_app(app_config, tmp_path):  # type: ignore[no-untyped-def]
    application = create_app(app_config, instance_path=tmp_path / "instance")
    application.register_blueprint(_notifying_blueprint())
    async with application.test_app():
        yield application


async def test_a_rolled_back_action_publishes_nothing(notifying_app) -> None:  # type: ignore[no-untyped-def]
    app = notifying_app
    ana, bob = Tab(app), Tab(app)
    await make_user(app, ana, "ana")
    await make_user(app, bob, "bob")
    ids = await user_ids(app)
    path = f"/_test/notify/{ids['bob']}/{ids['ana']}"
    async with open_stream(bob) as stream, hub(app).subscribe(ids["bob"]) as wakeups:
        assert (await ana.post(f"{path}/explode")).status == 500
        assert (await ana.post(f"{path}/refuse")).status == 409
        await stream.nothing(0.5)
        assert wakeups.empty()  # not even a wake-up was published
        assert await rows_for(app, "bob") == []
        # The same route, committed, is heard at once.
        assert (await ana.post(f"{path}/commit")).status == 201
        event = await stream.notification()
        assert wakeups.get_nowait() == "notification"
        [(notification_id, _)] = await rows_for(app, "bob")
        assert event.id == str(notification_id)


# --- pings ----------------------------------------------------------------------------------


async def test_pings_keep_the_stream_alive(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_module, "PING_SECONDS", 0.2)
    async with open_stream(world.bob) as bob:
        for _ in range(3):
            block = await bob.next(skip_pings=False)
            assert block.is_ping, block.raw
        # Events still come between pings.
        await world.follow(world.ana, "bob")
        assert "followed you" in (await bob.notification()).data


async def test_no_ping_before_ping_seconds(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_module, "PING_SECONDS", 1.0)
    async with open_stream(world.bob) as bob:
        await bob.nothing(0.6)
        assert (await bob.next(skip_pings=False)).is_ping


# --- how a stream ends ----------------------------------------------------------------------


def assert_session_ended(events: list[Event]) -> None:
    names = [event.name for event in events if not event.is_ping]
    assert names == ["session-ended"], [event.raw for event in events]
    assert "You have been logged out." in text(events[-1].data)


async def test_logging_out_ends_that_sessions_stream(world: World) -> None:
    async with open_stream(world.bob) as bob, open_stream(world.ana) as ana:
        page = await world.bob.post("/auth/logout")
        assert page.status == 303
        assert_session_ended(await bob.end())
        await ana.nothing(0.3)  # someone else's logout ends nothing of ana's
    assert hub(world.app).open_streams() == 0


async def test_a_password_change_ends_the_other_sessions_streams(world: World, app) -> None:  # type: ignore[no-untyped-def]
    laptop = Tab(app)
    assert (await login(laptop, "bob@example.com")).status == 303
    async with open_stream(world.bob) as old, open_stream(laptop) as current:
        await laptop.get("/settings/password")
        new_password = "a brand new passphrase 42"
        page = await laptop.post(
            "/settings/password", {"old_password": PASSWORD, "password": new_password, "password2": new_password}
        )
        assert page.status == 303, page.text
        assert_session_ended(await old.end())
        # The session that changed the password keeps its stream.
        await current.nothing(0.5)
        await world.follow(world.ana, "bob")
        await current.notification()


async def _block(app, username: str, *, revoke: bool) -> None:  # type: ignore[no-untyped-def]
    """Block as a moderator's tool or a hand-made change would: no wake-up is published."""
    await set_user(app, username, active=False)
    if revoke:
        async with database(app).session(write=True) as session:
            user_id = (await session.execute(select(User.id).where(User.username == username))).scalar_one()
            await session.execute(update(AuthSession).where(AuthSession.user_id == user_id).values(revoked_at=utcnow()))
            await session.commit()


@pytest.mark.parametrize("revoke", [True, False], ids=["revoked", "inactive-only"])
async def test_a_blocked_users_stream_ends_at_the_next_wake_up(world: World, revoke: bool) -> None:
    async with open_stream(world.bob) as bob:
        await _block(world.app, "bob", revoke=revoke)
        await bob.nothing(0.3)  # PING_SECONDS is long: nothing checks yet
        await hub(world.app).wake(world.ids["bob"])
        assert_session_ended(await bob.end())


@pytest.mark.parametrize("revoke", [True, False], ids=["revoked", "inactive-only"])
async def test_a_blocked_users_stream_ends_at_the_periodic_check(world: World, monkeypatch, revoke: bool) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_module, "PING_SECONDS", 0.1)
    monkeypatch.setattr(notification_stream, "SESSION_CHECK_EVERY", 3)
    async with open_stream(world.bob) as bob:
        await _block(world.app, "bob", revoke=revoke)
        events = await bob.end()
        assert [event.is_ping for event in events].count(True) <= 3
        assert_session_ended(events)


async def test_the_shutdown_event_ends_streams_promptly(world: World) -> None:
    async with open_stream(world.bob) as bob, open_stream(world.ana) as ana:
        shutdown_event(world.app).set()
        for stream in (bob, ana):
            rest = await stream.end()
            # Not "session-ended": the browser must reconnect to the next server.
            assert all(event.name is None for event in rest), [event.raw for event in rest]
    assert hub(world.app).open_streams() == 0


async def test_the_lifetime_cap_ends_the_stream(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(stream_module, "STREAM_LIFETIME", 2.0)
    monkeypatch.setattr(stream_module, "PING_SECONDS", 0.1)
    loop = asyncio.get_running_loop()
    async with open_stream(world.bob) as bob:
        opened = loop.time()
        # The server pings at 0.1 s and caps at 2 s, counted from before its first read of the
        # database (at 0.6 s, that read alone outlived the cap once on a loaded PostgreSQL).
        assert (await bob.next(skip_pings=False)).is_ping
        rest = await bob.end()
        lived = loop.time() - opened
        assert all(event.name is None for event in rest), [event.raw for event in rest]
        # A lower bound only: how late it ends says nothing under load; the hang guard in end() is the upper one.
        assert lived >= 1.5, lived


async def test_anonymous_gets_401_with_an_empty_body(app, world: World) -> None:  # type: ignore[no-untyped-def]
    response = await Tab(app).client.get(STREAM)
    assert response.status_code == 401
    assert await response.get_data() == b""
    # A logged-out tab too (its cookie no longer names a live session).
    assert (await world.bob.post("/auth/logout")).status == 303
    response = await world.bob.client.get(STREAM)
    assert response.status_code == 401
    assert await response.get_data() == b""


# --- the hub --------------------------------------------------------------------------------


async def test_hub_queues_are_bounded_without_a_reader(world: World) -> None:
    the_hub = hub(world.app)
    bob_id = world.ids["bob"]
    async with the_hub.subscribe(bob_id) as queue:
        for _ in range(1000):
            await asyncio.wait_for(the_hub.wake(bob_id), HANG_GUARD)
        async with asyncio.timeout(HANG_GUARD):
            while queue.qsize() == 0:  # the broadcaster's listener dispatches them (Redis: later)
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # and more of them, if the queue took them
        assert 0 < queue.qsize() <= broadcast_module.QUEUE_SIZE
    assert the_hub.open_streams() == 0


async def test_a_flooded_stream_still_delivers_everything_new_once(world: World) -> None:
    """1000 wake-ups while the stream cannot read: its queue stays bounded, and at its next
    read it sends every new notification from the database, once each, in order."""
    the_hub = hub(world.app)
    bob_id, ana_id = world.ids["bob"], world.ids["ana"]
    async with open_stream(world.bob) as bob:
        for _ in range(30):
            await add_notification(world.app, NotificationKind.FOLLOW, bob_id, ana_id)
        # No await in between: the stream cannot take anything off its queue.
        for _ in range(1000):
            the_hub.wake_local(bob_id, "notification")
        queues = the_hub._streams[bob_id]
        assert queues and all(q.qsize() <= broadcast_module.QUEUE_SIZE for q in queues)
        ids = [int((await bob.notification()).id) for _ in range(30)]
        assert ids == [row for row, _ in await rows_for(world.app, "bob")]
        await bob.nothing(0.5)


async def test_a_toast_shows_the_actors_avatar_and_the_photos_thumbnail(world: World) -> None:
    from hyperpics.models import Photo

    async with database(world.app).session(write=False) as session:
        photo = await session.get(Photo, world.photo)
        ana = await session.get(User, world.ids["ana"])
    assert ana.avatar_medium  # members get an identicon
    async with open_stream(world.bob) as bob:
        await world.comment(world.ana, world.photo, "nice")
        comment = await bob.notification()
        await world.follow(world.ana, "bob")
        follow = await bob.notification()
    toast = re.search(r'<div class="toast"[^>]*>(.*?)</div>', comment.data, re.S)
    assert toast is not None, comment.data
    avatar = (
        '<img class="avatar notification-avatar" '
        f'src="/media/avatars/{ana.avatar_medium}" width="40" height="40" alt=""'
    )
    assert toast.group(1).startswith(avatar), toast.group(1)
    assert (
        f'<img src="/media/photos/{photo.filename_small}?v=public" width="48" height="48" alt="{photo.alt}"'
        ' loading="lazy">' in toast.group(1)
    )
    assert text(toast.group(1)) == "Ana commented on your photo: “nice”"
    # A follow is about no photo: the avatar alone.
    assert avatar in follow.data and "notification-photo" not in follow.data
