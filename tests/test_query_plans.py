"""Every page's queries reach their rows through an index, whatever the site's size.

Each page below is asked for (anonymous, as a member, as an administrator) while the engine
records its statements; each statement is then explained. On SQLite (``EXPLAIN QUERY PLAN``,
with no statistics, as a site's own database has none) a plan may not read a whole table
(``SCAN <table>``) nor sort through a temporary B-tree, except where listed in ALLOWED with
the reason its size is bounded. On PostgreSQL the same statements are explained with
sequential scans priced out of reach (``enable_seqscan = off``): at this size the planner
would rightly prefer them, and one that remains means no index could serve the query.

Plans measured at 100,000 photos before these rules held: anonymous photo search 1.1 s
(its count ran the full-text match once per public photo), hot tags 290 ms, a photo page
35 ms and a profile 22 ms (both read every public photo through the visibility index).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import pytest
from quart import Quart
from sqlalchemy import event, text

from hyperpics.infra.db import database

from .conftest import Tab, make_user
from .factories import add_comment, add_photos
from .helpers import user_ids

# Tables that grow with the site.
GROWING = {
    "users", "photos", "comments", "collects", "follows", "photo_tags", "notifications", "tags", "reports",
    "audit_log", "auth_sessions",
}  # fmt: skip


WHOLE_CLASS = "ix_photos_visibility_created (visibility=?)"


@dataclass(frozen=True)
class Allowed:
    statement: str  # a piece of the statement's SQL
    line: str  # a regular expression on the plan line
    why: str


ALLOWED = [
    Allowed("", r"TEMP B-TREE FOR RIGHT PART OF ORDER BY",
            "the index gives the order; only rows with the same leading key (the same second) are sorted"),
    Allowed("photos.id IN (", r"TEMP B-TREE FOR ORDER BY", "a page's dozen cards, put in order after they are chosen"),
    Allowed("follows.followed_id", r"TEMP B-TREE FOR ORDER BY", "the feed: the photos of the people followed"),
    Allowed("AS latest", r"TEMP B-TREE FOR (GROUP|ORDER) BY", "hot tags: the tags of the latest 1,000 public photos"),
    Allowed("AS latest", re.escape(WHOLE_CLASS), "hot tags: the latest 1,000 public photos, the index in order"),
    Allowed("photos.visibility = ? ORDER BY photos.created_at DESC, photos.id DESC\n LIMIT", re.escape(WHOLE_CLASS),
            "the newest public photos: the index in order, stopped by the LIMIT"),
    Allowed("AS window", r"TEMP B-TREE FOR ORDER BY", "a tag's most collected: ranked among its newest 1,000"),
    Allowed("MATCH", r"TEMP B-TREE FOR ORDER BY", "search: the matches of the words, ranked"),
    Allowed("SELECT count(*) AS count_1 \nFROM users", r"^SCAN users USING COVERING INDEX",
            "the admin table counts the people it pages through"),
    Allowed("ORDER BY users.member_since", r"^SCAN users USING INDEX ix_users_member_since",
            "the admin table walks the sign-up index and stops at its page"),
]  # fmt: skip


def _problems(plan_lines: list[str], statement: str) -> list[str]:
    found = []
    for line in plan_lines:
        scanned = re.match(r"SCAN (\w+?)(?:_\d+)?(?: |$)", line)
        # Three values: a search on visibility alone reads a whole class of photos.
        bad = (scanned is not None and scanned.group(1) in GROWING) or "TEMP B-TREE" in line or WHOLE_CLASS in line
        if bad and not any(allowed.statement in statement and re.search(allowed.line, line) for allowed in ALLOWED):
            found.append(line)
    return found


async def _explain(app: Quart, statements: list[tuple[str, object]]) -> list[tuple[str, list[str]]]:
    """Each statement's plan lines."""
    engine = database(app).engine
    plans = []
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(engine.url.database) as connection:
            for statement, parameters in statements:
                rows = connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()  # type: ignore[arg-type]
                plans.append((statement, [row[3] for row in rows]))
        return plans
    async with engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        for statement, parameters in statements:
            driver = await connection.get_raw_connection()
            rows = await driver.driver_connection.fetch("EXPLAIN " + statement, *(parameters or ()))  # type: ignore[union-attr]
            lines = [row[0].strip().lstrip("-> ").strip() for row in rows]
            # Only a sequential scan of a growing table is a finding here (see the module notes).
            plans.append(
                (statement, [f"SCAN {m.group(1)}" for line in lines if (m := re.match(r"Seq Scan on (\w+)", line))])
            )
        await connection.execute(text("RESET enable_seqscan"))
    return plans


async def _statements_of(app: Quart, tab: Tab, path: str, *, kept: bool = False) -> list[tuple[str, object]]:
    """The statements of one look at ``path``: from nothing kept in memory, or (``kept``) with
    what the pages keep for everyone already there, so that only the viewer's own part runs."""
    recorded: list[tuple[str, object]] = []
    sync_engine = database(app).engine.sync_engine

    def record(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            recorded.append((statement, parameters))

    from hyperpics.web.page_cache import forget_all

    forget_all(app)  # the page's own queries, not a copy from memory
    app.extensions.pop("hyperpics_card_cache", None)
    if kept:
        assert (await tab.get(path)).status == 200
    event.listen(sync_engine, "before_cursor_execute", record)
    try:
        page = await tab.get(path, htmx=path.startswith("/_/"))
    finally:
        event.remove(sync_engine, "before_cursor_execute", record)
    assert page.status == 200, (path, page.status)
    return recorded


PAGES = [
    "/", "/?before={cursor}", "/explore", "/photo/{photo}", "/photo/{photo}/collectors", "/user/bruno",
    "/user/bruno?before={cursor}", "/user/bruno/collections", "/user/bruno/followers", "/user/bruno/following",
    "/tag/{tag}", "/tag/{tag}/by_collects", "/tag/{tag}?page=2", "/search?q=sunset&category=photo",
    "/search?q=bru&category=user", "/search?q=sun&category=tag", "/search/suggest?q=sun", "/_/users/{bruno}/card",
]  # fmt: skip
MEMBER_PAGES = ["/notifications", "/settings/profile"]
KEPT_PAGES = ["/photo/{photo}", "/photo/{photo}/view"]  # asked again: only the viewer's part runs
# The moderation dashboard and its other tables still count whole tables (their totals, the
# 30-day chart, the reports grouped by target): not yet held to this rule.
ADMIN_PAGES = ["/admin/users"]


@pytest.fixture
async def site(app: Quart, new_tab) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """A little of everything: two members who follow each other, photos with tags, comments."""
    tabs = {"anonymous": Tab(app)}
    tabs["ana"] = await make_user(app, new_tab(), "ana")
    tabs["bruno"] = await make_user(app, new_tab(), "bruno")
    tabs["admin"] = await make_user(app, new_tab(), "boss", role="Administrator")
    photos = await add_photos(app, "bruno", 30, tags=("sunset",), description="sunset over the sea")
    await add_photos(app, "ana", 3, tags=("sunset", "beach"))
    for photo in photos[-3:]:
        assert (await tabs["ana"].post(f"/_/photos/{photo}/collect")).status == 303
        await add_comment(app, "ana", photo, "lovely light")
    bruno_id = (await user_ids(app))["bruno"]
    assert (await tabs["ana"].post(f"/_/users/{bruno_id}/follow")).status == 303
    feed = await tabs["ana"].get("/")
    cursor = re.search(r"before=([0-9._]+)", feed.text)
    tag = re.search(r'href="/tag/(\d+)"', (await tabs["anonymous"].get(f"/photo/{photos[-1]}")).text)
    assert cursor and tag, "the feed pages on, and the photo shows its tag"
    return {"tabs": tabs, "photo": photos[-1], "tag": tag.group(1), "cursor": cursor.group(1), "bruno": bruno_id}


@pytest.mark.parametrize("viewer", ["anonymous", "ana", "admin"])
async def test_page_queries_seek_indexes(app: Quart, site: dict[str, object], viewer: str) -> None:
    tab = site["tabs"][viewer]  # type: ignore[index]
    pages = PAGES + (MEMBER_PAGES if viewer != "anonymous" else []) + (ADMIN_PAGES if viewer == "admin" else [])
    findings = []
    explained = 0
    for page in pages:
        if viewer == "anonymous" and page.startswith("/?before"):
            continue  # the landing page has no feed to page through
        path = page.format(**site)
        for statement, lines in await _explain(app, await _statements_of(app, tab, path)):
            explained += 1
            findings += [
                f"{path}: {line}\n    {' '.join(statement.split())[:300]}" for line in _problems(lines, statement)
            ]
    for page in KEPT_PAGES if viewer != "anonymous" else []:
        path = page.format(**site)
        for statement, lines in await _explain(app, await _statements_of(app, tab, path, kept=True)):
            explained += 1
            findings += [
                f"{path}: {line}\n    {' '.join(statement.split())[:300]}" for line in _problems(lines, statement)
            ]
    assert explained > 2 * len(pages)
    assert not findings, "\n".join(findings)
    # The explainer itself sees a whole-table read when there is one (on either engine).
    [(probe, lines)] = await _explain(app, [("SELECT id FROM photos WHERE description = 'x'", ())])
    assert _problems(lines, probe) == ["SCAN photos"]
