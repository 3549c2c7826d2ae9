"""Who is asking, kept (auth._viewer): a member's session row, user and unread count are
kept while the tables they come from are unchanged, so a member's card reads nothing from
the database. Any change to those tables, made by a request or around it, is seen at once."""

from __future__ import annotations

import re

from quart import Quart

from hyperpics.auth import viewer_cache

from .conftest import Tab, make_user, set_user
from .helpers import counting, user_ids


def _bell(page_text: str) -> str:
    found = re.search(r'<span class="badge" id="bell-count"( hidden)?>(\d+)</span>', page_text)
    assert found is not None
    return "hidden" if found.group(1) else found.group(2)


async def test_a_members_card_reads_nothing_once_their_viewer_is_kept(app: Quart) -> None:
    ana = await make_user(app, Tab(app), "ana")
    await make_user(app, Tab(app), "bruno")
    bruno_id = (await user_ids(app))["bruno"]
    await ana.get("/explore")  # shows the welcome message waiting in the session
    first = await ana.get(f"/_/users/{bruno_id}/card", htmx=True)
    assert first.status == 200 and "bruno" in first.text.lower()
    with counting(app, forget_pages=False) as statements:
        again = await ana.get(f"/_/users/{bruno_id}/card", htmx=True)
    assert again.status == 200 and again.text == first.text
    assert statements == []
    assert len(viewer_cache(app)) >= 1


async def test_a_kept_viewer_is_made_again_after_any_change_to_what_it_shows(app: Quart) -> None:
    ana = await make_user(app, Tab(app), "ana")
    bruno = await make_user(app, Tab(app), "bruno")
    ids = await user_ids(app)
    assert _bell((await ana.get("/explore")).text) == "hidden"
    assert _bell((await ana.get("/explore")).text) == "hidden"  # kept now

    followed = await bruno.post(f"/_/users/{ids['ana']}/follow", {"next": "/explore"})
    assert followed.status in (200, 303)
    assert _bell((await ana.get("/explore")).text) == "1"  # a notification: the bell counts it

    await set_user(app, "ana", name="Ana Lima")  # around the app, as a moderator's tool would
    assert "Ana Lima" in (await ana.get("/explore")).text


async def test_a_block_or_a_revoked_session_ends_a_kept_viewer_at_its_next_request(app: Quart) -> None:
    ana = await make_user(app, Tab(app), "ana")
    for _ in range(2):
        assert "@ana<" in (await ana.get("/explore")).text
    await set_user(app, "ana", active=False)
    page = await ana.get("/explore")
    assert "@ana<" not in page.text and "Your account is blocked." in page.text

    cleo = await make_user(app, Tab(app), "cleo")
    other_device = Tab(app)
    for cookie in cleo.client.cookie_jar:  # the same login, used elsewhere
        other_device.client.set_cookie("localhost", cookie.name, cookie.value)
    for _ in range(2):
        assert "@cleo<" in (await other_device.get("/explore")).text
    await cleo.post("/auth/logout")  # revokes the login's row
    page = await other_device.get("/explore")
    assert "@cleo<" not in page.text


async def test_each_request_gets_its_own_viewer_objects(app: Quart) -> None:
    """A view that changes the viewer (settings) changes its request's copy, flushed as an
    update; the kept values stay as they were until the commit makes a new version."""
    from hyperpics.models import User

    ana = await make_user(app, Tab(app), "ana")
    await ana.get("/explore")
    await ana.get("/explore")
    kept = next(iter(viewer_cache(app)._entries.values())).value  # noqa: SLF001
    async with app.test_request_context("/explore"):
        from hyperpics import db

        session = await db.session()
        first_session, first_user = kept.attach(session)
        assert isinstance(first_user, User) and first_user.username == "ana"
        assert first_user.role.name == "User"
        assert not session.dirty and not session.new
        first_user.name = "changed here"
        assert first_user in session.dirty
        await db.rollback()
        await db.close()
    assert kept.user["name"] == "Ana"
