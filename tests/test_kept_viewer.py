"""Who is asking, kept between a member's requests (viewer._kept_viewer): no query while the
session, user, role and notification tables are unchanged; every change through the app seen
on the very next request; a change by another program seen within VIEWER_KEEP_SECONDS."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from hyperpics.infra.db import database
from hyperpics.models import AuthSession, Notification, NotificationKind, User, utcnow
from hyperpics.web import viewer

from .conftest import Tab, make_user, set_user
from .helpers import counting, user_ids

VIEWER_FROM = "FROM auth_sessions"  # the viewer query reads the session row first


async def test_a_members_next_request_reads_no_viewer_row(app, tab: Tab) -> None:  # type: ignore[no-untyped-def]
    await make_user(app, tab, "ana")
    with counting(app) as first:
        assert (await tab.get("/notifications")).status == 200
    with counting(app, forget_pages=False) as second:
        assert (await tab.get("/notifications")).status == 200
    assert sum(VIEWER_FROM in statement for statement in first) == 1
    assert not any(VIEWER_FROM in statement for statement in second)
    assert second == [statement for statement in first if VIEWER_FROM not in statement]


async def test_the_bell_counts_a_notification_on_the_next_page(app, tab: Tab, new_tab) -> None:  # type: ignore[no-untyped-def]
    await make_user(app, tab, "ana")
    await make_user(app, new_tab(), "bob")
    ids = await user_ids(app)
    bell = re.search(r'<span class="badge" id="bell-count"( hidden)?>(\d+)</span>', (await tab.get("/")).text)
    assert bell is not None and bell.group(1) and bell.group(2) == "0"  # and kept now
    async with database(app).session(write=True) as session:
        session.add(Notification(kind=NotificationKind.FOLLOW, receiver_id=ids["ana"], actor_id=ids["bob"]))
        await session.commit()
    bell = re.search(r'<span class="badge" id="bell-count"( hidden)?>(\d+)</span>', (await tab.get("/")).text)
    assert bell is not None and bell.group(1) is None and bell.group(2) == "1"


async def test_a_changed_name_shows_on_the_next_page(app, tab: Tab) -> None:  # type: ignore[no-untyped-def]
    await make_user(app, tab, "ana")
    await tab.get("/")
    await set_user(app, "ana", name="Ana Renamed")
    assert "Ana Renamed" in (await tab.get("/")).text


async def test_what_a_view_changes_on_the_viewer_is_written(app, tab: Tab) -> None:  # type: ignore[no-untyped-def]
    """Views change their own copy of the kept user; the change reaches the database."""
    await make_user(app, tab, "ana")
    await tab.get("/settings/profile")
    page = await tab.post(
        "/settings/profile", data={"name": "Ana Edited", "username": "ana", "bio": "", "website": "", "location": ""}
    )
    assert page.status in (200, 303)
    async with database(app).session() as session:
        name = (await session.get(User, (await user_ids(app))["ana"])).name
    assert name == "Ana Edited"
    assert "Ana Edited" in (await tab.get("/")).text


async def test_a_revocation_by_another_program_ends_the_session_within_the_keep(app, tab: Tab, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(viewer, "VIEWER_KEEP_SECONDS", 0.2)
    await make_user(app, tab, "ana")
    assert 'id="logout-button"' in (await tab.get("/")).text
    # Another engine on the same database: the app sees no commit of it.
    other = create_async_engine(app.config["DATABASE_URL"])
    try:
        async with other.begin() as connection:
            await connection.execute(update(AuthSession).values(revoked_at=utcnow()))
    finally:
        await other.dispose()
    await asyncio.sleep(0.3)
    home = await tab.get("/")
    assert "You have been signed out. Please log in again." in home.text
    assert 'id="logout-button"' not in home.text
