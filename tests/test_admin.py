"""The admin area: who may use it, every row action (htmx and plain form), the role rules,
the reports queue, the audit log, the tables' sorting/filtering/paging and their SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from quart import Quart
from sqlalchemy import func, insert, select, update

from hyperpics.infra.db import database
from hyperpics.models import (
    AuditEntry,
    AuthSession,
    Comment,
    Photo,
    Report,
    ReportReason,
    ReportStatus,
    ReportTarget,
    Tag,
    User,
    photo_tags,
    utcnow,
)

from . import images
from .conftest import Tab, login, make_user, set_user
from .factories import add_comment, add_members, add_photo, add_photos, add_report
from .helpers import counting, text_of, user_ids
from .html import by_id, elements, find_id, texts

# --- a small site -------------------------------------------------------------------------


@dataclass
class Site:
    app: Quart
    admin: Tab  # "ana", Administrator
    moderator: Tab  # "mod", Moderator
    bob: Tab  # a member, logged in
    ids: dict[str, int]

    async def user(self, username: str) -> User:
        async with database(self.app).session(write=False) as session:
            return (await session.execute(select(User).where(User.username == username))).scalar_one()

    async def audit(self) -> list[AuditEntry]:
        async with database(self.app).session(write=False) as session:
            return list((await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars())

    async def scalar(self, statement: Any) -> Any:
        async with database(self.app).session(write=False) as session:
            return (await session.execute(statement)).scalar()


@pytest.fixture
async def site(app: Quart) -> Site:
    admin, moderator, bob = Tab(app), Tab(app), Tab(app)
    await make_user(app, admin, "ana", role="Administrator")
    await make_user(app, moderator, "mod", role="Moderator")
    await make_user(app, bob, "bob")
    await add_members(app, ["cyd", "dee"])
    return Site(app, admin, moderator, bob, await user_ids(app))


async def upload_photo(site: Site, tab: Tab, description: str = "") -> int:
    page = await tab.upload("/upload", [("real.jpg", images.jpeg(640, 480))])
    assert page.status in (200, 303), page.text
    async with database(site.app).session(write=False) as session:
        return (await session.execute(select(func.max(Photo.id)))).scalar_one()


def report_rows(page: str) -> list[str]:
    """The reports queue's rows, top to bottom, by what they are about ("photo-12")."""
    return [row["id"].removeprefix("report-row-") for row in elements(page, "tr[id^=report-row-]")]


def usernames_in(html: str) -> list[str]:
    return re.findall(r"<small class=\"muted\">@(\w+) ·", html)


# --- who may use it -----------------------------------------------------------------------


def admin_rules(app: Quart) -> list[Any]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/admin", "/_/admin"))]


def concrete(rule: str, ids: dict[str, int]) -> list[str]:
    """The URLs of a rule: one per choice of an <any(...)> part (every table a route serves)."""
    values = {
        "user_id": ids["bob"],
        "row_id": 1,
        "target_id": 1,
        "target_type": "photo",
        "action": "lock",
        "table": "users",
    }
    pattern = re.compile(r"<(?:any\(([^)]*)\):|[a-z]+:)?([a-z_]+)>")
    choices = next((match.group(1) for match in pattern.finditer(rule) if match.group(1)), None)
    options = [choice.strip() for choice in choices.split(",")] if choices else [None]

    def fill(option: str | None) -> str:
        return pattern.sub(lambda match: option if match.group(1) else str(values[match.group(2)]), rule)

    return [fill(option) for option in options]


@pytest.mark.parametrize("kind", ["anonymous", "user", "moderator", "administrator"])
async def test_permission_matrix_for_every_admin_route(app: Quart, kind: str) -> None:
    tab = Tab(app)
    if kind != "anonymous":
        role = {"user": "User", "moderator": "Moderator", "administrator": "Administrator"}[kind]
        await make_user(app, tab, "visitor", role=role)
    await add_members(app, ["bob"])
    ids = await user_ids(app)
    rules = admin_rules(app)
    urls = [(rule, url) for rule in rules for url in concrete(rule.rule, ids)]
    assert len(urls) >= 15, [url for _, url in urls]
    for rule, url in urls:
        view = app.view_functions[rule.endpoint]
        needs_admin = "ADMINISTER" in repr(view.permission)
        method = "GET" if "GET" in rule.methods else "POST"
        page = await (tab.get(url) if method == "GET" else tab.post(url, {}))
        where = f"{kind} {method} {url}"
        if kind == "anonymous":
            assert page.status == 302 and "/auth/login" in page.location, where
        elif kind == "user" or (kind == "moderator" and needs_admin):
            assert page.status == 403, where
            assert "permission" in page.text, where
        elif method == "GET":
            assert page.status == 200, (where, page.text[-500:])
        else:
            # Allowed through: a POST with no fields asks first, or says what is missing.
            assert page.status in (200, 404, 422), (where, page.status)


async def test_the_nav_offers_the_dashboard_to_moderators_only(site: Site) -> None:
    assert elements((await site.moderator.get("/")).text, '[href="/admin/"]')
    assert not elements((await site.bob.get("/")).text, '[href="/admin/"]')


# --- the dashboard ------------------------------------------------------------------------


async def test_dashboard_counts_and_chart(site: Site) -> None:
    photo_ids = await add_photos(site.app, "bob", 3)
    await add_report(site.app, "cyd", ReportTarget.PHOTO, photo_ids[0])
    await add_report(site.app, "dee", ReportTarget.PHOTO, photo_ids[0])
    await set_user(site.app, "cyd", locked=True, role="Locked")
    await set_user(site.app, "dee", active=False)
    page = await site.moderator.get("/admin/")
    assert page.status == 200
    text = text_of(page.text)
    assert "Photos 3 1 reported" in text
    assert "Members 5 1 locked 1 blocked 0 unconfirmed" in text
    assert "Open reports 2" in text
    chart = page.text[page.text.index('<figure class="activity-chart">') :]
    svg = chart[: chart.index("</svg>")]
    # 30 days, two bars each; everything happened today.
    assert svg.count('class="bar-uploads"') == 30 and svg.count('class="bar-signups"') == 30
    assert "3 uploads and 5 sign-ups" in svg
    heights = [float(value) for value in re.findall(r'class="bar-uploads"[^>]*height="([\d.]+)"', svg)]
    assert heights[-1] == 72.0 and heights[:-1] == [0.0] * 29  # 3 of the peak 5 (sign-ups), in 120 px


# --- the users table ----------------------------------------------------------------------


async def test_users_table_sorts_filters_and_pages(site: Site) -> None:
    await add_members(site.app, [f"m{index:02d}" for index in range(40)])
    page = await site.moderator.get("/admin/users?sort=username&dir=asc")
    names = usernames_in(page.text)
    assert names == sorted(names, key=str.lower) and len(names) == 30
    assert elements(page.text, '[aria-sort="ascending"]')
    second = await site.moderator.get("/admin/users?sort=username&dir=asc&page=2")
    assert len(usernames_in(second.text)) == 45 - 30
    assert set(usernames_in(second.text)).isdisjoint(names)
    descending = await site.moderator.get("/admin/users?sort=username&dir=desc")
    assert usernames_in(descending.text)[0] == "mod"

    # htmx gets the table alone, and the tidy URL to push.
    fragment = await site.moderator.get("/admin/users?q=m0&status=&role=&sort=joined&dir=desc", htmx=True)
    assert fragment.status == 200 and fragment.root_id() == "admin-table" and fragment.is_fragment()
    assert fragment.headers["HX-Push-Url"] == "/admin/users?q=m0"
    assert sorted(usernames_in(fragment.text)) == [f"m0{index}" for index in range(10)]

    await set_user(site.app, "cyd", active=False)
    blocked = await site.moderator.get("/admin/users?status=blocked")
    assert usernames_in(blocked.text) == ["cyd"]
    moderators = await site.moderator.get("/admin/users?role=Moderator")
    assert usernames_in(moderators.text) == ["mod"]
    # Nonsense in the query string falls back to the defaults, never a 500.
    odd = await site.moderator.get("/admin/users?sort=password&dir=sideways&page=-3&status=%27&role=Root")
    assert odd.status == 200 and len(usernames_in(odd.text)) == 30
    past_the_end = await site.moderator.get("/admin/users?page=99")
    assert "Page 2 of 2" in past_the_end.text


async def test_search_text_is_matched_literally(site: Site) -> None:
    await add_members(site.app, ["per_cent"])
    assert usernames_in((await site.moderator.get("/admin/users?q=%25")).text) == []
    assert usernames_in((await site.moderator.get("/admin/users?q=r_c")).text) == ["per_cent"]


@pytest.mark.parametrize(
    ("action", "columns", "expected", "note"),
    [
        ("confirm", {"confirmed": False}, {"confirmed": True}, "Confirmed cyd."),
        ("lock", {}, {"locked": True}, "Locked cyd."),
        ("block", {}, {"active": False}, "Blocked cyd."),
        ("unblock", {"active": False}, {"active": True}, "Unblocked cyd."),
    ],
)
async def test_a_user_action_swaps_its_row_and_is_audited(
    site: Site, action: str, columns: dict[str, Any], expected: dict[str, Any], note: str
) -> None:
    if columns:
        await set_user(site.app, "cyd", **columns)
    cyd = site.ids["cyd"]
    page = await site.moderator.post(f"/_/admin/users/{cyd}/{action}", {"confirmed": "1"}, htmx=True)
    assert page.status == 200, page.text
    assert page.root_id() == f"user-row-{cyd}" and page.is_fragment()
    assert note in page.text and elements(page.text, '[class="row-note"][role=status]')
    user = await site.user("cyd")
    for key, value in expected.items():
        assert getattr(user, key) == value
    entry = (await site.audit())[-1]
    assert (entry.action, entry.target_type, entry.target_id, entry.actor_id) == (
        f"user.{action}",
        "user",
        cyd,
        site.ids["mod"],
    )
    for key, value in expected.items():
        assert entry.after[key] == value and entry.before[key] != value


@pytest.mark.parametrize("action", ["lock", "block"])
async def test_without_javascript_a_destructive_action_asks_first_then_redirects_back(site: Site, action: str) -> None:
    cyd = site.ids["cyd"]
    back = "/admin/users?status=&q=cyd"
    asked = await site.moderator.post(f"/_/admin/users/{cyd}/{action}", {"next": back})
    assert asked.status == 200
    assert f"{action.capitalize()} cyd?" in asked.text
    assert elements(asked.text, '[name=confirmed][value="1"]') and elements(
        asked.text, f'[action="/_/admin/users/{cyd}/{action}"]'
    )
    assert (await site.user("cyd")).active and not (await site.user("cyd")).locked  # nothing yet
    done = await site.moderator.post(f"/_/admin/users/{cyd}/{action}", {"confirmed": "1", "next": back})
    assert done.status == 303 and done.location == back
    assert f"{'Locked' if action == 'lock' else 'Blocked'} cyd." in (await site.moderator.get(back)).text


async def test_without_javascript_a_safe_action_posts_straight_through(site: Site) -> None:
    await set_user(site.app, "cyd", confirmed=False)
    done = await site.moderator.post(
        f"/_/admin/users/{site.ids['cyd']}/confirm", {"next": "/admin/users?status=unconfirmed"}
    )
    assert done.status == 303 and done.location == "/admin/users?status=unconfirmed"
    assert (await site.user("cyd")).confirmed


@pytest.mark.parametrize(
    ("path", "asks_first"),
    [
        ("users/{cyd}/confirm", False),
        ("users/{cyd}/lock", True),
        ("users/{locked}/unlock", False),
        ("users/{cyd}/block", True),
        ("users/{blocked}/unblock", False),
        ("users/{cyd}/role", True),
        ("photos/{photo}/delete", True),
        ("comments/{comment}/delete", True),
        ("tags/{tag}/delete", True),
        ("reports/photo/{photo}/resolve", True),
        ("reports/photo/{photo}/dismiss", False),
    ],
)
async def test_every_row_action_works_as_a_plain_form(site: Site, path: str, asks_first: bool) -> None:
    """Without JavaScript: a destructive action answers with a question page; the answer is a 303 back."""
    await set_user(site.app, "cyd", confirmed=False)
    await add_members(site.app, ["lou"], role="Locked", locked=True)
    await add_members(site.app, ["bea"], active=False)
    photo = (await add_photos(site.app, "bob", 1, tags=["dusk"]))[0]
    comment = await add_comment(site.app, "dee", photo, "nice")
    await add_report(site.app, "dee", ReportTarget.PHOTO, photo)
    url = "/_/admin/" + path.format(
        cyd=site.ids["cyd"],
        locked=(await site.user("lou")).id,
        blocked=(await site.user("bea")).id,
        photo=photo,
        comment=comment,
        tag=await site.scalar(select(Tag.id)),
    )
    data = {"next": "/admin/users?q=x", "role": "Moderator"}
    audit_before = len(await site.audit())
    first = await site.admin.post(url, data)
    if asks_first:
        assert (
            first.status == 200
            and elements(first.text, '[name=confirmed][value="1"]')
            and elements(first.text, f'[action="{url}"]')
        )
        assert elements(first.text, '[href="/admin/users?q=x"]')  # Cancel goes back
        assert len(await site.audit()) == audit_before  # nothing happened yet
        first = await site.admin.post(url, {**data, "confirmed": "1"})
    assert first.status == 303 and first.location == "/admin/users?q=x"
    assert len(await site.audit()) > audit_before


async def test_an_htmx_action_by_a_button_on_a_stale_row_says_it_was_done_already(site: Site) -> None:
    cyd = site.ids["cyd"]
    assert (await site.moderator.post(f"/_/admin/users/{cyd}/block", {"confirmed": "1"}, htmx=True)).status == 200
    again = await site.admin.post(f"/_/admin/users/{cyd}/block", {"confirmed": "1"}, htmx=True)
    assert again.status == 409 and "cyd is already blocked." in again.text
    assert again.headers["HX-Retarget"] == "#flashes"
    assert len([entry for entry in await site.audit() if entry.action == "user.block"]) == 1


async def test_unlock_restores_the_role_held_before_the_lock(site: Site) -> None:
    mod = site.ids["mod"]
    page = await site.admin.post(f"/_/admin/users/{mod}/lock", {"confirmed": "1"}, htmx=True)
    assert page.status == 200 and "Locked mod." in page.text
    locked = await site.user("mod")
    assert locked.role.name == "Locked" and locked.locked
    assert "(was Moderator)" in page.text
    # A moderator may not give a moderator's role back.
    other_moderator = Tab(site.app)
    await add_members(site.app, ["max"], role="Moderator")
    await set_user(site.app, "max", password_hash=(await _hash_of(site, "ana")))
    assert (await login(other_moderator, "max@example.com")).status == 303
    refused = await other_moderator.post(f"/_/admin/users/{mod}/unlock", {}, htmx=True)
    assert refused.status == 403 and (await site.user("mod")).locked
    page = await site.admin.post(f"/_/admin/users/{mod}/unlock", {}, htmx=True)
    assert page.status == 200 and "their role is Moderator again" in page.text
    unlocked = await site.user("mod")
    assert unlocked.role.name == "Moderator" and not unlocked.locked and unlocked.role_before_lock_id is None


async def _hash_of(site: Site, username: str) -> str:
    return await site.scalar(select(User.password_hash).where(User.username == username))


async def test_unlocking_someone_locked_by_hand_gives_the_user_role(site: Site) -> None:
    await set_user(site.app, "cyd", locked=True, role="Locked")
    page = await site.moderator.post(f"/_/admin/users/{site.ids['cyd']}/unlock", {}, htmx=True)
    assert page.status == 200 and (await site.user("cyd")).role.name == "User"


# --- the role rules -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["ana", "mod"])
@pytest.mark.parametrize("action", ["lock", "block", "confirm", "unblock"])
async def test_moderators_cannot_act_on_moderators_or_administrators(site: Site, target: str, action: str) -> None:
    if target == "mod":
        await add_members(site.app, ["max"], role="Moderator")
        target = "max"
    await set_user(site.app, target, confirmed=False) if action == "confirm" else None
    await set_user(site.app, target, active=False) if action == "unblock" else None
    before = await site.user(target)
    page = await site.moderator.post(f"/_/admin/users/{before.id}/{action}", {"confirmed": "1"}, htmx=True)
    assert page.status == 403 and "Only an administrator" in page.text
    after = await site.user(target)
    assert (after.locked, after.active, after.confirmed) == (before.locked, before.active, before.confirmed)
    assert await site.audit() == []


async def test_the_table_hides_buttons_the_server_would_refuse(site: Site) -> None:
    page = await site.moderator.get("/admin/users")
    ana_row = _row(page.text, site.ids["ana"])
    assert "Administrators only" in ana_row and "/block" not in ana_row
    assert "You" in _row(page.text, site.ids["mod"])
    bob_row = _row(page.text, site.ids["bob"])
    assert "/block" in bob_row and "/lock" in bob_row and "Set role" not in bob_row
    admin_page = await site.admin.get("/admin/users")
    assert "Set role" in _row(admin_page.text, site.ids["bob"]) and "/block" in _row(admin_page.text, site.ids["mod"])


def _row(html: str, user_id: int) -> str:
    start = html.index(f'<tr id="user-row-{user_id}"')
    return html[start : html.index("</tr>", start)]


@pytest.mark.parametrize("action", ["lock", "block"])
async def test_nobody_locks_or_blocks_themselves(site: Site, action: str) -> None:
    page = await site.admin.post(f"/_/admin/users/{site.ids['ana']}/{action}", {"confirmed": "1"}, htmx=True)
    assert page.status == 403 and "yourself" in page.text
    me = await site.user("ana")
    assert me.active and not me.locked


async def test_only_administrators_change_roles_with_a_fresh_login(site: Site) -> None:
    bob = site.ids["bob"]
    refused = await site.moderator.post(
        f"/_/admin/users/{bob}/role", {"role": "Moderator", "confirmed": "1"}, htmx=True
    )
    assert refused.status == 403 and (await site.user("bob")).role.name == "User"

    page = await site.admin.post(f"/_/admin/users/{bob}/role", {"role": "Moderator", "confirmed": "1"}, htmx=True)
    assert page.status == 200 and page.root_id() == f"user-row-{bob}" and "bob is now Moderator." in page.text
    assert (await site.user("bob")).role.name == "Moderator"
    entry = (await site.audit())[-1]
    assert entry.action == "user.role" and entry.before["role"] == "User" and entry.after["role"] == "Moderator"

    # An old login must type the password again: htmx is sent there, then back to the table.
    async with database(site.app).session(write=True) as session:
        await session.execute(update(AuthSession).values(last_fresh_at=utcnow() - timedelta(hours=2)))
        await session.commit()
    stale = await site.admin.post(
        f"/_/admin/users/{bob}/role",
        {"role": "User", "confirmed": "1"},
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/admin/users?q=bob"},
    )
    assert stale.headers["HX-Redirect"].startswith("/auth/re-authenticate?next=/admin/users")
    plain = await site.admin.post(
        f"/_/admin/users/{bob}/role", {"role": "User", "confirmed": "1", "next": "/admin/users?q=bob"}
    )
    assert plain.status == 302 and urlsplit(plain.location).path == "/auth/re-authenticate"
    assert parse_qs(urlsplit(plain.location).query)["next"] == ["/admin/users?q=bob"]
    assert (await site.user("bob")).role.name == "Moderator"


async def test_choosing_locked_as_a_role_locks_and_another_role_unlocks(site: Site) -> None:
    bob = site.ids["bob"]
    assert (
        await site.admin.post(f"/_/admin/users/{bob}/role", {"role": "Locked", "confirmed": "1"}, htmx=True)
    ).status == 200
    user = await site.user("bob")
    assert user.locked and user.role.name == "Locked"
    assert (
        await site.admin.post(f"/_/admin/users/{bob}/role", {"role": "Moderator", "confirmed": "1"}, htmx=True)
    ).status == 200
    user = await site.user("bob")
    assert not user.locked and user.role.name == "Moderator" and user.role_before_lock_id is None


async def test_a_role_change_without_javascript_asks_first(site: Site) -> None:
    bob = site.ids["bob"]
    asked = await site.admin.post(f"/_/admin/users/{bob}/role", {"role": "Moderator", "next": "/admin/users"})
    assert (
        asked.status == 200
        and "Make bob Moderator?" in asked.text
        and elements(asked.text, "[name=role][value=Moderator]")
    )
    assert (await site.user("bob")).role.name == "User"
    done = await site.admin.post(
        f"/_/admin/users/{bob}/role", {"role": "Moderator", "confirmed": "1", "next": "/admin/users"}
    )
    assert done.status == 303 and (await site.user("bob")).role.name == "Moderator"
    bad = await site.admin.post(f"/_/admin/users/{bob}/role", {"role": "Root", "confirmed": "1"})
    assert bad.status == 422


@pytest.mark.parametrize(
    ("path", "data"),
    [("lock", {}), ("block", {}), ("role", {"role": "User"}), ("role", {"role": "Locked"})],
)
async def test_the_last_administrator_cannot_be_demoted_locked_or_blocked(
    site: Site, path: str, data: dict[str, str]
) -> None:
    # A third administrator exists but is blocked: they do not count.
    await add_members(site.app, ["zed", "ola"], role="Administrator")
    await set_user(site.app, "zed", active=False)
    await set_user(site.app, "ola", password_hash=await _hash_of(site, "ana"))
    ola = Tab(site.app)
    assert (await login(ola, "ola@example.com")).status == 303
    # Two active administrators: one may demote, lock or block the other...
    page = await ola.post(f"/_/admin/users/{site.ids['ana']}/{path}", {**data, "confirmed": "1"}, htmx=True)
    assert page.status == 200, page.text
    # ...which leaves ola the last one: she cannot step down (and nobody else can act on her).
    ola_id = (await site.user("ola")).id
    for role in ("User", "Locked", "Moderator"):
        page = await ola.post(f"/_/admin/users/{ola_id}/role", {"role": role, "confirmed": "1"}, htmx=True)
        assert page.status == 409 and "ola is the last administrator" in page.text
    assert (await site.user("ola")).role.name == "Administrator"
    assert (await site.user("zed")).role.name == "Administrator"


async def test_the_only_administrator_cannot_demote_herself(site: Site) -> None:
    page = await site.admin.post(
        f"/_/admin/users/{site.ids['ana']}/role", {"role": "Moderator", "confirmed": "1"}, htmx=True
    )
    assert page.status == 409 and "last administrator" in page.text
    assert (await site.user("ana")).role.name == "Administrator"
    assert [entry.action for entry in await site.audit()] == []


# --- blocking reaches the blocked person at once ------------------------------------------


async def test_a_blocked_member_is_logged_out_on_the_next_page_and_fragment(site: Site) -> None:
    phone = Tab(site.app)
    assert (await login(phone, "bob@example.com")).status == 303
    assert (
        await site.moderator.post(f"/_/admin/users/{site.ids['bob']}/block", {"confirmed": "1"}, htmx=True)
    ).status == 200
    page = await site.bob.get("/")
    assert "Your account is blocked." in page.text and "/auth/login" in page.text
    assert not elements(page.text, '[action="/auth/logout"]')
    fragment = await phone.post(f"/_/users/{site.ids['cyd']}/follow", {}, htmx=True)
    assert fragment.headers.get("HX-Redirect", "").startswith("/auth/login")
    async with database(site.app).session(write=False) as session:
        open_sessions = (
            await session.execute(
                select(func.count())
                .select_from(AuthSession)
                .where(AuthSession.user_id == site.ids["bob"], AuthSession.revoked_at.is_(None))
            )
        ).scalar_one()
    assert open_sessions == 0
    again = await login(Tab(site.app), "bob@example.com")
    assert again.status != 303 and "blocked" in again.text


async def test_a_blocked_members_notification_stream_ends(site: Site) -> None:
    from .test_notification_stream import assert_session_ended, open_stream

    async with open_stream(site.bob) as stream:
        page = await site.moderator.post(f"/_/admin/users/{site.ids['bob']}/block", {"confirmed": "1"}, htmx=True)
        assert page.status == 200
        assert_session_ended(await stream.end())


async def test_a_locked_members_upload_page_says_why(site: Site) -> None:
    assert (
        await site.moderator.post(f"/_/admin/users/{site.ids['bob']}/lock", {"confirmed": "1"}, htmx=True)
    ).status == 200
    page = await site.bob.get("/upload")
    assert page.status == 403 and "Your account is locked" in page.text
    profile = await site.bob.get("/user/bob")
    assert "Your account is locked by a moderator" in profile.text


# --- content tables -----------------------------------------------------------------------


async def test_deleting_a_photo_from_the_table_removes_its_files_and_closes_its_reports(site: Site) -> None:
    photo_id = await upload_photo(site, site.bob)
    async with database(site.app).session(write=False) as session:
        photo = await session.get(Photo, photo_id)
        files = [Path(site.app.config["MEDIA_DIR"]) / "photos" / name for name in photo.files()]
    assert all(path.exists() for path in files)
    await add_report(site.app, "cyd", ReportTarget.PHOTO, photo_id, "nudity")
    table = await site.moderator.get("/admin/photos?status=reported")
    assert find_id(table.text, f"photo-row-{photo_id}")
    page = await site.moderator.post(f"/_/admin/photos/{photo_id}/delete", {"confirmed": "1"}, htmx=True)
    assert page.status == 200 and page.root_id() == f"photo-row-{photo_id}" and "row-gone" in page.text
    assert f"Deleted photo {photo_id} by bob." in page.text
    assert not any(path.exists() for path in files)
    assert await site.scalar(select(func.count()).select_from(Photo)) == 0
    assert await site.scalar(select(Report.status)) == ReportStatus.RESOLVED
    entry = (await site.audit())[-1]
    assert entry.action == "photo.delete" and entry.before["author"] == "bob" and entry.after is None


async def test_deleting_a_photo_without_javascript(site: Site) -> None:
    photo_id = (await add_photos(site.app, "bob", 1))[0]
    asked = await site.moderator.post(f"/_/admin/photos/{photo_id}/delete", {"next": "/admin/photos"})
    assert asked.status == 200 and f"Delete photo {photo_id}?" in asked.text
    assert await site.scalar(select(func.count()).select_from(Photo)) == 1
    done = await site.moderator.post(f"/_/admin/photos/{photo_id}/delete", {"confirmed": "1", "next": "/admin/photos"})
    assert done.status == 303 and done.location == "/admin/photos"
    assert await site.scalar(select(func.count()).select_from(Photo)) == 0
    gone = await site.moderator.post(f"/_/admin/photos/{photo_id}/delete", {"confirmed": "1"})
    assert gone.status == 404


async def test_deleting_a_comment_takes_its_replies(site: Site) -> None:
    photo_id = (await add_photos(site.app, "bob", 1))[0]
    parent = await add_comment(site.app, "cyd", photo_id, "first!")
    await add_comment(site.app, "dee", photo_id, "a reply", reply_to=parent)
    table = await site.moderator.get("/admin/comments?status=replies")
    assert "a reply" in table.text and "first!" not in table.text
    page = await site.moderator.post(f"/_/admin/comments/{parent}/delete", {"confirmed": "1"}, htmx=True)
    assert page.status == 200 and page.root_id() == f"comment-row-{parent}" and "Deleted comment" in page.text
    assert await site.scalar(select(func.count()).select_from(Comment)) == 0
    done = await site.moderator.post(f"/_/admin/comments/{parent}/delete", {"confirmed": "1"})
    assert done.status == 404


async def test_deleting_a_tag_removes_it_from_every_photo(site: Site) -> None:
    await add_photos(site.app, "bob", 2, tags=["sunset"])
    tag_id = await site.scalar(select(Tag.id).where(Tag.name == "sunset"))
    table = await site.moderator.get("/admin/tags?q=sun")
    assert "#sunset" in table.text and "2" in texts(table.text, "td.num")
    page = await site.moderator.post(f"/_/admin/tags/{tag_id}/delete", {"confirmed": "1"}, htmx=True)
    assert page.status == 200 and "Deleted the tag #sunset from 2 photos." in page.text
    assert await site.scalar(select(func.count()).select_from(photo_tags)) == 0
    assert await site.scalar(select(func.count()).select_from(Photo)) == 2
    entry = (await site.audit())[-1]
    assert entry.action == "tag.delete" and entry.before == {"name": "sunset", "photos": 2}


# --- the reports queue --------------------------------------------------------------------


async def test_reports_queue_groups_by_target_with_counts_and_reasons(site: Site) -> None:
    photo_id = (await add_photos(site.app, "bob", 1))[0]
    comment_id = await add_comment(site.app, "bob", photo_id, "buy cheap watches")
    for reporter, reason in (("cyd", "spam"), ("dee", "spam"), ("mod", "copyright")):
        await add_report(site.app, reporter, ReportTarget.PHOTO, photo_id, reason, note=f"note from {reporter}")
    await add_report(site.app, "cyd", ReportTarget.COMMENT, comment_id, "spam")
    await add_report(site.app, "cyd", ReportTarget.USER, site.ids["bob"], "harassment")
    page = await site.moderator.get("/admin/reports")
    rows = report_rows(page.text)
    assert rows[0] == f"photo-{photo_id}" and set(rows) == {
        f"photo-{photo_id}",
        f"comment-{comment_id}",
        f"user-{site.ids['bob']}",
    }
    photo_row = by_id(page.text, f"report-row-photo-{photo_id}")
    assert "3" in texts(photo_row, "td.num") and "spam ×2" in photo_row.text and "copyright" in photo_row.text
    assert "note from mod" in photo_row.text and "by mod, dee, cyd" in photo_row.text
    only_users = await site.moderator.get("/admin/reports?target=user")
    assert report_rows(only_users.text) == [f"user-{site.ids['bob']}"]


async def test_one_open_report_per_reporter_and_target(site: Site) -> None:
    photo_id = (await add_photos(site.app, "bob", 1))[0]
    cyd = Tab(site.app)
    await set_user(site.app, "cyd", password_hash=await _hash_of(site, "ana"))
    assert (await login(cyd, "cyd@example.com")).status == 303
    first = await cyd.post(f"/photo/{photo_id}/report", {"reason": "spam"})
    assert first.status == 303
    second = await cyd.post(f"/photo/{photo_id}/report", {"reason": "nudity"})
    assert second.status == 409 and "already reported" in second.text
    # After a moderator dismisses it, a new report may be filed.
    assert (await site.moderator.post(f"/_/admin/reports/photo/{photo_id}/dismiss", {}, htmx=True)).status == 200
    assert (await cyd.post(f"/photo/{photo_id}/report", {"reason": "nudity"})).status == 303


async def test_members_can_be_reported(site: Site) -> None:
    form = await site.bob.get("/user/cyd/report")
    assert form.status == 200 and elements(form.text, '[name="reason"]')
    page = await site.bob.post("/user/cyd/report", {"reason": "harassment", "note": "keeps insulting me"}, htmx=True)
    assert page.status == 200 and "Thanks" in page.text
    assert await site.scalar(select(Report.target_id).where(Report.target_type == ReportTarget.USER)) == site.ids["cyd"]
    assert (await site.bob.post("/user/bob/report", {"reason": "spam"})).status == 403
    assert "/user/cyd/report" in (await site.bob.get("/user/cyd")).text


async def test_resolving_deletes_the_target_and_closes_every_report(site: Site) -> None:
    photo_id = await upload_photo(site, site.bob)
    await add_report(site.app, "cyd", ReportTarget.PHOTO, photo_id)
    await add_report(site.app, "dee", ReportTarget.PHOTO, photo_id, "nudity")
    page = await site.moderator.post(f"/_/admin/reports/photo/{photo_id}/resolve", {"confirmed": "1"}, htmx=True)
    assert page.status == 200 and page.root_id() == f"report-row-photo-{photo_id}", page.text
    assert "2 reports on photo" in page.text and "photo deleted" in page.text and "resolved" in page.text
    assert await site.scalar(select(func.count()).select_from(Photo)) == 0
    async with database(site.app).session(write=False) as session:
        statuses = list((await session.execute(select(Report.status))).scalars())
    assert statuses == [ReportStatus.RESOLVED, ReportStatus.RESOLVED]
    actions = [entry.action for entry in await site.audit()]
    assert actions == ["photo.delete", "report.resolve"]
    closed = await site.moderator.get("/admin/reports?status=closed")
    assert find_id(closed.text, f"report-row-photo-{photo_id}") and "(deleted)" in closed.text
    again = await site.moderator.post(f"/_/admin/reports/photo/{photo_id}/resolve", {"confirmed": "1"}, htmx=True)
    assert again.status == 409


async def test_resolving_a_report_on_a_member_blocks_them(site: Site) -> None:
    await add_report(site.app, "cyd", ReportTarget.USER, site.ids["bob"], "harassment")
    asked = await site.moderator.post(f"/_/admin/reports/user/{site.ids['bob']}/resolve", {"next": "/admin/reports"})
    assert asked.status == 200 and "the member is blocked" in asked.text
    done = await site.moderator.post(
        f"/_/admin/reports/user/{site.ids['bob']}/resolve", {"confirmed": "1", "next": "/admin/reports"}
    )
    assert done.status == 303 and done.location == "/admin/reports"
    assert not (await site.user("bob")).active
    assert "Your account is blocked." in (await site.bob.get("/")).text


async def test_a_report_on_a_moderator_cannot_be_resolved_by_a_moderator(site: Site) -> None:
    await add_members(site.app, ["max"], role="Moderator")
    max_id = (await site.user("max")).id
    await add_report(site.app, "cyd", ReportTarget.USER, max_id, "harassment")
    page = await site.moderator.post(f"/_/admin/reports/user/{max_id}/resolve", {"confirmed": "1"}, htmx=True)
    assert page.status == 403 and (await site.user("max")).active
    assert await site.scalar(select(Report.status)) == ReportStatus.OPEN


async def test_dismissing_keeps_the_target(site: Site) -> None:
    photo_id = (await add_photos(site.app, "bob", 1))[0]
    await add_report(site.app, "cyd", ReportTarget.PHOTO, photo_id)
    done = await site.moderator.post(f"/_/admin/reports/photo/{photo_id}/dismiss", {"next": "/admin/reports"})
    assert done.status == 303  # nothing is lost by dismissing: no question first
    assert await site.scalar(select(func.count()).select_from(Photo)) == 1
    assert await site.scalar(select(Report.status)) == ReportStatus.DISMISSED
    entry = (await site.audit())[-1]
    assert (entry.before, entry.after) == ({"status": "open", "reports": 1}, {"status": "dismissed", "reports": 1})


# --- checked rows -------------------------------------------------------------------------


async def test_bulk_block_skips_the_rows_it_may_not_touch(site: Site) -> None:
    ids = [site.ids[name] for name in ("cyd", "dee", "ana")]
    page = await site.moderator.post(
        "/_/admin/users/bulk",
        {"action": "block", "ids": [str(i) for i in ids], "confirmed": "1"},
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/admin/users?sort=username&dir=asc"},
    )
    assert page.status == 200 and page.root_id() == "admin-table"
    assert "Block: 2 of 3 done. Skipped" in page.text and "Only an administrator" in page.text
    assert usernames_in(page.text) == sorted(usernames_in(page.text), key=str.lower)  # the same sort
    assert not (await site.user("cyd")).active and not (await site.user("dee")).active
    assert (await site.user("ana")).active
    assert [entry.action for entry in await site.audit()] == ["user.block", "user.block"]


async def test_bulk_without_javascript_asks_then_redirects(site: Site) -> None:
    photo_ids = await add_photos(site.app, "bob", 3)
    data = {"action": "delete", "ids": [str(i) for i in photo_ids[:2]], "next": "/admin/photos?sort=reports"}
    asked = await site.moderator.post("/_/admin/photos/bulk", data)
    assert asked.status == 200 and "Delete 2 photos?" in asked.text
    assert asked.text.count('name="ids"') == 2
    done = await site.moderator.post("/_/admin/photos/bulk", {**data, "confirmed": "1"})
    assert done.status == 303 and done.location == "/admin/photos?sort=reports"
    assert await site.scalar(select(func.count()).select_from(Photo)) == 1
    follow = await site.moderator.get(done.location)
    assert "Delete: 2 of 2 done." in follow.text


async def test_bulk_needs_rows_and_a_known_action(site: Site) -> None:
    assert (
        await site.moderator.post("/_/admin/users/bulk", {"action": "block", "confirmed": "1"}, htmx=True)
    ).status == 422
    assert (
        await site.moderator.post("/_/admin/users/bulk", {"action": "explode", "ids": "3"}, htmx=True)
    ).status == 422
    assert (await site.moderator.post("/_/admin/secrets/bulk", {"action": "block", "ids": "3"})).status == 404
    unconfirmed = await site.moderator.post("/_/admin/users/bulk", {"action": "unlock", "ids": ["99999"]}, htmx=True)
    assert unconfirmed.status == 200 and "0 of 1 done" in unconfirmed.text and "no such member" in unconfirmed.text


async def test_bulk_dismiss_reports(site: Site) -> None:
    photo_ids = await add_photos(site.app, "bob", 2)
    for photo_id in photo_ids:
        await add_report(site.app, "cyd", ReportTarget.PHOTO, photo_id)
    page = await site.moderator.post(
        "/_/admin/reports/bulk", {"action": "dismiss", "ids": [f"photo-{i}" for i in photo_ids]}, htmx=True
    )
    assert page.status == 200 and "Dismiss: 2 of 2 done." in page.text
    assert await site.scalar(select(func.count()).select_from(Report).where(Report.status == ReportStatus.OPEN)) == 0


# --- the administrator's profile editor ---------------------------------------------------


async def test_administrators_edit_profiles_with_a_fresh_login(site: Site) -> None:
    bob = site.ids["bob"]
    form = await site.admin.get(f"/admin/users/{bob}/edit")
    assert form.status == 200 and elements(form.text, '[value="bob@example.com"]')
    data = {
        "name": "Robert",
        "username": "robert",
        "email": "robert@example.com",
        "website": "https://bob.example",
        "location": "Lisbon",
        "bio": "hi",
        "role": "Moderator",
        "confirmed": "y",
    }
    done = await site.admin.post(f"/admin/users/{bob}/edit", data)
    assert done.status == 303, done.text
    user = await site.user("robert")
    assert (user.name, user.email, user.location, user.role.name) == (
        "Robert",
        "robert@example.com",
        "Lisbon",
        "Moderator",
    )
    actions = {entry.action: entry for entry in await site.audit()}
    assert actions["user.edit"].before["username"] == "bob" and actions["user.edit"].after["username"] == "robert"
    assert actions["user.role"].after["role"] == "Moderator"

    taken = await site.admin.post(f"/admin/users/{bob}/edit", {**data, "email": "cyd@example.com"}, htmx=True)
    assert (
        taken.status == 422
        and taken.root_id() == "admin-profile-form"
        and "Another account uses this email" in taken.text
    )
    bad = await site.admin.post(f"/admin/users/{bob}/edit", {**data, "website": "javascript:alert(1)"})
    assert bad.status == 422 and "http://" in bad.text
    assert (await site.moderator.get(f"/admin/users/{bob}/edit")).status == 403
    assert (await site.admin.get("/admin/users/99999/edit")).status == 404


# --- the audit log ------------------------------------------------------------------------


async def test_audit_log_lists_actions_with_their_changes(site: Site) -> None:
    await site.moderator.post(f"/_/admin/users/{site.ids['cyd']}/lock", {"confirmed": "1"}, htmx=True)
    await site.admin.post(f"/_/admin/users/{site.ids['dee']}/block", {"confirmed": "1"}, htmx=True)
    page = await site.moderator.get("/admin/audit")
    text = text_of(page.text)
    assert "user.lock" in text and "user.block" in text
    assert "role: User → Locked" in text and "active: True → False" in text
    only_locks = await site.moderator.get("/admin/audit?action=user.lock", htmx=True)
    assert only_locks.root_id() == "admin-table"
    assert "user.block" not in texts(only_locks.text, "code") and "user.lock" in texts(only_locks.text, "code")
    by_actor = await site.moderator.get("/admin/audit?q=ana")
    assert "user.block" in texts(by_actor.text, "code") and "user.lock" not in texts(by_actor.text, "code")


# --- SQL per table page -------------------------------------------------------------------


async def _statements(site: Site, path: str) -> int:
    with counting(site.app) as statements:
        page = await site.moderator.get(path)
    assert page.status == 200, page.text[-500:]
    return len(statements)


async def _fill(site: Site, rows: int) -> None:
    names = [f"p{index:03d}" for index in range(rows)]
    await add_members(site.app, names)
    for index, name in enumerate(names):
        photo_id = await add_photo(site.app, "bob", tags=[f"tag{index}"])
        comment_id = await add_comment(site.app, name, photo_id, f"comment {index}")
        await add_report(site.app, name, ReportTarget.PHOTO, photo_id, note="look")
        await add_report(site.app, name, ReportTarget.COMMENT, comment_id)
        await add_report(site.app, name, ReportTarget.USER, site.ids["cyd"])
        await site.moderator.post(
            f"/_/admin/users/{site.ids['cyd']}/{'lock' if index % 2 == 0 else 'unlock'}", {"confirmed": "1"}, htmx=True
        )


TABLE_PAGES = {
    "/admin/users": 3,
    "/admin/photos": 3,
    "/admin/comments": 3,
    "/admin/tags": 3,
    "/admin/reports": 7,  # count, groups, details, then one query per kind of target
    "/admin/audit": 3,
    "/admin/": 3,
}


async def test_sql_statements_per_table_page_do_not_grow_with_the_rows(site: Site) -> None:
    await _fill(site, 2)
    few = {path: await _statements(site, path) for path in TABLE_PAGES}
    await _fill_more(site)
    many = {path: await _statements(site, path) for path in TABLE_PAGES}
    assert few == many == TABLE_PAGES


async def _fill_more(site: Site) -> None:
    # Enough rows for full pages everywhere (the largest page is 50 tags).
    names = [f"q{index:03d}" for index in range(55)]
    await add_members(site.app, names)
    photo_ids = await add_photos(site.app, "bob", 55)
    async with database(site.app).session(write=True) as session:
        ids = dict((await session.execute(select(User.username, User.id).where(User.username.in_(names)))).all())
        for index, photo_id in enumerate(photo_ids):
            comment = Comment(photo_id=photo_id, author_id=ids[names[index]], body=f"c{index}", created_at=utcnow())
            session.add(comment)
            tag = Tag(name=f"more{index}", created_at=utcnow())
            session.add(tag)
            await session.flush()
            await session.execute(insert(photo_tags).values(photo_id=photo_id, tag_id=tag.id))
            for target, target_id in (
                (ReportTarget.PHOTO, photo_id),
                (ReportTarget.COMMENT, comment.id),
                (ReportTarget.USER, ids[names[index]]),
            ):
                session.add(
                    Report(
                        reporter_id=site.ids["dee"],
                        target_type=target,
                        target_id=target_id,
                        reason=ReportReason.SPAM,
                        note="n",
                        created_at=utcnow(),
                    )
                )
            session.add(
                AuditEntry(
                    actor_id=site.ids["mod"],
                    action="user.lock",
                    target_type="user",
                    target_id=ids[names[index]],
                    before={"locked": False},
                    after={"locked": True},
                    created_at=utcnow(),
                )
            )
        await session.commit()
    rows = {path: len(re.findall(r"<tr id=", (await site.moderator.get(path)).text)) for path in TABLE_PAGES}
    assert rows["/admin/users"] == 30 and rows["/admin/photos"] == 20 and rows["/admin/tags"] == 50
    assert rows["/admin/reports"] == 20 and rows["/admin/audit"] == 50 and rows["/admin/comments"] == 30


async def test_pages_work_with_data_that_looks_like_markup(site: Site) -> None:
    await add_members(site.app, ["evil"], name="<script>alert(1)</script>", bio="<b>x</b>")
    photo_id = (await add_photos(site.app, "evil", 1))[0]
    await add_comment(site.app, "evil", photo_id, "<img src=x onerror=alert(1)>")
    await add_report(site.app, "cyd", ReportTarget.COMMENT, 1, note="<i>note</i>")
    for path in ("/admin/users", "/admin/comments", "/admin/reports"):
        page = await site.moderator.get(path)
        assert page.status == 200 and "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "<i>note</i>" not in page.text


async def test_the_last_administrator_cannot_delete_her_account(site: Site) -> None:
    await site.admin.get("/settings/account")
    page = await site.admin.post("/settings/account", {"username": "ana"})
    assert page.status == 422 and "last administrator" in page.text
    assert (await site.user("ana")).is_admin
    await add_members(site.app, ["ola"], role="Administrator")
    assert (await site.admin.post("/settings/account", {"username": "ana"})).status == 303


async def test_an_edit_the_role_rules_refuse_changes_nothing(site: Site) -> None:
    data = {
        "name": "Ana Changed",
        "username": "ana",
        "email": "ana@example.com",
        "website": "",
        "location": "",
        "bio": "",
        "role": "User",
        "confirmed": "y",
    }
    page = await site.admin.post(f"/admin/users/{site.ids['ana']}/edit", data)
    assert page.status == 422 and "last administrator" in page.text and "Edit ana" in page.text
    ana = await site.user("ana")
    assert ana.name == "Ana" and ana.is_admin
    assert await site.audit() == []


async def test_the_question_page_only_links_back_into_the_site(site: Site) -> None:
    asked = await site.moderator.post(f"/_/admin/users/{site.ids['cyd']}/block", {"next": "javascript:alert(1)"})
    assert asked.status == 200 and "javascript:" not in asked.text
    assert elements(asked.text, '[href="/admin/users"]')
