"""Rules that read and then write hold when the requests arrive at the same moment, on
SQLite and on PostgreSQL: the reads they decide on are locked (db.lock), and unique races
are settled by the unique indexes. Requests run concurrently in one event loop, so each one
interleaves with the others at every database round trip."""

from __future__ import annotations

import asyncio

from quart import Quart

from hyperpics.models import Visibility

from .conftest import Page, Tab, make_user, register
from .databases import TestDatabase
from .factories import add_photo
from .helpers import user_ids

NEW_PASSWORD = "a brand new passphrase"


async def together(*requests) -> list[Page]:  # type: ignore[no-untyped-def]
    return list(await asyncio.gather(*requests))


async def test_two_administrators_blocking_each_other_leave_one(app: Quart, database: TestDatabase) -> None:
    ana, bob = Tab(app), Tab(app)
    await make_user(app, ana, "ana", role="Administrator")
    await make_user(app, bob, "bob", role="Administrator")
    ids = await user_ids(app)
    for tab in (ana, bob):
        await tab.get("/admin/users")  # the page's token

    pages = await together(
        ana.post(f"/_/admin/users/{ids['bob']}/block", {"confirmed": "1"}, htmx=True),
        bob.post(f"/_/admin/users/{ids['ana']}/block", {"confirmed": "1"}, htmx=True),
    )

    winner, loser = sorted(pages, key=lambda page: page.status != 200)
    assert winner.status == 200, [page.text[:300] for page in pages]
    # The loser is refused: at the lock (401/403/409), or, when the winner's commit came
    # before the loser's request was read, as someone already logged out (sent to log in).
    assert loser.status in (401, 403, 409) or (
        loser.status == 204 and loser.headers.get("HX-Redirect", "").startswith("/auth/login")
    ), (loser.status, loser.headers, loser.text[:300])
    active_admins = database.value(
        "SELECT count(*) FROM users JOIN roles ON roles.id = users.role_id "
        "WHERE roles.name = 'Administrator' AND users.active"
    )
    assert active_admins == 1
    assert database.value("SELECT count(*) FROM audit_log WHERE action = 'user.block'") == 1


async def test_two_moderators_locking_one_member_at_once_lock_once(app: Quart, database: TestDatabase) -> None:
    mia, max_ = Tab(app), Tab(app)
    await make_user(app, mia, "mia", role="Moderator")
    await make_user(app, max_, "max", role="Moderator")
    await make_user(app, Tab(app), "cyd")
    cyd = (await user_ids(app))["cyd"]
    for tab in (mia, max_):
        await tab.get("/admin/users")

    pages = await together(
        *(tab.post(f"/_/admin/users/{cyd}/lock", {"confirmed": "1"}, htmx=True) for tab in (mia, max_))
    )

    assert sorted(page.status for page in pages) == [200, 409]
    assert any("cyd is already locked." in page.text for page in pages)
    assert database.value("SELECT count(*) FROM audit_log WHERE action = 'user.lock'") == 1
    # The role before the lock is the one cyd really had, not "Locked" from the second lock.
    assert (
        database.value(
            "SELECT roles.name FROM users JOIN roles ON roles.id = users.role_before_lock_id WHERE users.id = ?", cyd
        )
        == "User"
    )


async def test_one_reset_link_clicked_twice_at_once_resets_once(app: Quart, mailbox, database: TestDatabase) -> None:
    await register(Tab(app), "ana")
    opener = Tab(app)
    assert (await opener.post("/auth/forget-password", {"email": "ana@example.com"})).status == 303
    reset = mailbox.last_link("ana@example.com")
    assert reset.startswith("/auth/reset-password/")
    first, second = Tab(app), Tab(app)
    for tab in (first, second):
        await tab.get(reset)

    pages = await together(
        *(tab.post(reset, {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}) for tab in (first, second))
    )

    assert sorted(page.status for page in pages) == [303, 400], [page.status for page in pages]
    assert any("already been used" in page.text for page in pages)


async def test_the_same_username_claimed_twice_at_once_is_given_once(app: Quart, database: TestDatabase) -> None:
    pages = await together(
        register(Tab(app), "ana", email="ana1@example.com"),
        register(Tab(app), "ANA", email="ana2@example.com"),
    )
    assert sorted(page.status for page in pages) == [303, 422]
    assert any("taken" in page.text for page in pages)
    assert database.value("SELECT count(*) FROM users") == 1


async def test_edits_of_one_photo_at_once_keep_one_consistent_set_of_tags(app: Quart, database: TestDatabase) -> None:
    ana = Tab(app)
    await make_user(app, ana, "ana")
    photo = await add_photo(app, "ana", tags=["sea", "old"])
    await ana.get(f"/photo/{photo}")
    edits = [
        {"description": f"take {n}", "alt_text": "", "tags": tags, "visibility": Visibility.PUBLIC.value}
        for n, tags in enumerate(("sea sun", "sun sand", "sand sea", "fresh"))
    ]

    pages = await together(*(ana.post(f"/photo/{photo}/edit", edit, htmx=True) for edit in edits))

    assert all(page.status == 200 for page in pages), [page.status for page in pages]
    description = database.value("SELECT description FROM photos WHERE id = ?", photo)
    carried = sorted(
        row[0]
        for row in database.rows(
            "SELECT tags.name FROM tags JOIN photo_tags ON photo_tags.tag_id = tags.id WHERE photo_tags.photo_id = ?",
            photo,
        )
    )
    # The photo carries exactly the tags of the edit that wrote its description last.
    assert carried == sorted(edits[int(description.split()[-1])]["tags"].split())
    # And no tag is left that no photo carries.
    assert database.value("SELECT count(*) FROM tags WHERE id NOT IN (SELECT tag_id FROM photo_tags)") == 0


async def test_a_tag_dropped_by_one_photo_and_given_to_another_at_once_survives(
    app: Quart, database: TestDatabase
) -> None:
    ana = Tab(app)
    await make_user(app, ana, "ana")
    losing = await add_photo(app, "ana", tags=["rare"])
    gaining = await add_photo(app, "ana")
    await ana.get(f"/photo/{losing}")

    def edit(tags: str) -> dict[str, str]:
        return {"description": "", "alt_text": "", "tags": tags, "visibility": Visibility.PUBLIC.value}

    for _ in range(3):
        pages = await together(
            ana.post(f"/photo/{losing}/edit", edit(""), htmx=True),
            ana.post(f"/photo/{gaining}/edit", edit("rare"), htmx=True),
        )
        assert [page.status for page in pages] == [200, 200]
        assert database.rows(
            "SELECT tags.name FROM tags JOIN photo_tags ON photo_tags.tag_id = tags.id WHERE photo_tags.photo_id = ?",
            gaining,
        ) == [("rare",)]
        # Back to the start for the next round.
        pages = await together(
            ana.post(f"/photo/{gaining}/edit", edit(""), htmx=True),
            ana.post(f"/photo/{losing}/edit", edit("rare"), htmx=True),
        )
        assert [page.status for page in pages] == [200, 200]
