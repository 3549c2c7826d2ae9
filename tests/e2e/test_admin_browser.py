"""The admin users table in a real browser (issue #7, "Must show"): a moderator sorts and
filters the users table, blocks a member inline, and that member's own browser is logged
out on its next action.

People (a random suffix on every username, since the browser tests share one server and
database):

* four members - dora, alma, carla, bruno - who only fill the table: signed up in that
  order by the app's own account service, straight into the server's database (a browser
  sign-up costs a couple of seconds each; see ``seed_members``);
* victor, the victim - signed up through the form in a browser context of his own and left
  on the home page, whose ``#live`` element keeps the notification stream open;
* mona - signed up through the form on the ``page`` fixture, then made a Moderator (and
  confirmed) in the server's SQLite file: only an administrator can change roles through
  the site, and ``hyperpics create-admin`` only makes administrators.

Victor and mona join last, so the default sort (joined, newest first) is not A to Z.

What is under test (hyperpics/templates/admin/_table.html, admin/users.html,
partials/admin_rows.html, hyperpics/views/admin.py, hyperpics/views/admin_rows.py):

* a sort header is a link that htmx GETs into ``#admin-table`` (outerHTML) and whose URL is
  pushed: no page load, the address bar says ``sort=username&dir=asc``; clicking it again
  flips the direction;
* the filter form (search box ``input[type=search][name=q]``, status and role selects) also
  swaps ``#admin-table`` and pushes the tidy URL, keeping the sort (hidden inputs);
* a row's Block button asks first (``hx-confirm``), posts ``confirmed=1`` and swaps only its
  own ``tr``, which comes back with the "blocked" badge, an Unblock button and the note
  "Blocked <username>.";
* blocking revokes every login of the member: the open page is told at once over the
  stream, the next request is logged out, and logging in again is refused as blocked.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Dialog, Page, Response, expect

from hyperpics.web.viewer import VIEWER_KEEP_SECONDS

from .conftest import Server
from .helpers import PASSWORD, extra_context, fill_login, mark_window, sign_up, signed_up, window_survived

STREAM_PATH = "/_/notifications/stream"
LIVE_WITHIN_MS = 3_000  # how soon the victim's open page must hear that the session ended

# Counts htmx's "the SSE connection is open" events on every page of the context.
COUNT_SSE_OPENS = """
window.__sseOpens = 0;
document.addEventListener("htmx:sseOpen", function () { window.__sseOpens += 1; });
"""

# The @usernames of the users table's rows, top to bottom.
ROW_USERNAMES = """
() => Array.from(document.querySelectorAll("#users-table tbody tr")).map(function (tr) {
  var match = tr.textContent.match(/@(\\w+) ·/);
  return match ? match[1] : null;
})
"""


# --- helpers ----------------------------------------------------------------------------------


def seed_members(server: Server, members: dict[str, str]) -> None:
    """Sign ``members`` (username -> name) up, in that order, with the app's own account
    service writing straight into the server's database: the code the sign-up form runs,
    without the form, the mail and the couple of seconds a browser sign-up costs. Nobody
    logs in as them; they only fill the table."""
    from hyperpics.infra.db import Database
    from hyperpics.infra.storage import commit_with_files
    from hyperpics.services import accounts

    instance = server.root / "instance"

    async def sign_up() -> None:
        database = Database(f"sqlite+aiosqlite:///{instance / 'hyperpics.db'}")
        try:
            for username, name in members.items():
                async with database.session(write=True) as session:
                    data = accounts.Registration(
                        name=name, email=f"{username}@example.com", username=username, password=PASSWORD
                    )
                    user = await accounts.register(session, data, media_dir=str(instance / "media"))
                    files = accounts.avatar_paths(user.avatar_files())
                    await commit_with_files(session.commit, str(instance / "media"), files)
        finally:
            await database.dispose()

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, sign_up()).result()


def make_moderator(server: Server, username: str) -> None:
    """Give ``username`` the Moderator role (and a confirmed address) in the server's database."""
    with sqlite3.connect(server.root / "instance" / "hyperpics.db", timeout=10) as db:
        changed = db.execute(
            "UPDATE users SET role_id = (SELECT id FROM roles WHERE name = 'Moderator'), confirmed = 1 "
            "WHERE username = ?",
            (username,),
        ).rowcount
    assert changed == 1, f"no user {username!r} to make a moderator"


def wait_for_role(page: Page, path: str) -> None:
    """Until ``path`` opens for ``page``'s member: a role written straight into the database is
    seen within viewer.VIEWER_KEEP_SECONDS (changes through the site at once)."""
    deadline = time.monotonic() + VIEWER_KEEP_SECONDS + 10
    while (status := page.request.get(path).status) == 403 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert status == 200, status


def row_usernames(page: Page) -> list[str]:
    names = page.evaluate(ROW_USERNAMES)
    assert None not in names, f"a users row without an @username: {names}"
    return names


def mine(names: list[str], ours: set[str]) -> list[str]:
    """The rows that are this test's people, in table order (other tests' users are there too)."""
    return [name for name in names if name in ours]


def is_table_fragment(response: Response) -> bool:
    """An htmx request's answer for the users table (a sort, a filter or a search)."""
    return urlsplit(response.url).path == "/admin/users" and response.request.headers.get("hx-request") == "true"


# --- the test ---------------------------------------------------------------------------------


def test_moderator_sorts_filters_and_blocks_a_member_who_is_logged_out(
    page: Page, browser: Browser, server: Server, artifacts: Path, shot: Callable[[str], Path]
) -> None:
    started = time.monotonic()
    suffix = secrets.token_hex(3)
    members = {  # username -> name; the victim and the moderator join last
        f"dora_{suffix}": "Dora Diaz",
        f"alma_{suffix}": "Alma Alves",
        f"carla_{suffix}": "Carla Cruz",
        f"bruno_{suffix}": "Bruno Braga",
    }
    victim, victim_name = f"victor_{suffix}", "Victor Vance"
    moderator, moderator_name = f"mona_{suffix}", "Mona Moderator"
    ours = {*members, victim, moderator}

    with extra_context(browser, server, artifacts, "admin-victim") as victim_context:
        # 1. Four members join (straight into the database, see ``seed_members``), then the
        # victim, in the browser where he stays logged in, and the moderator, on the ``page``
        # fixture, both through the sign-up form at the same time.
        seed_members(server, members)
        victim_page = victim_context.new_page()
        victim_context.add_init_script(COUNT_SSE_OPENS)
        victim_errors: list[str] = []
        victim_page.on("pageerror", lambda error: victim_errors.append(str(error)))
        victim_address = sign_up(victim_page, name=victim_name, username=victim)
        moderator_address = sign_up(page, name=moderator_name, username=moderator)
        signed_up(victim_page, victim_name, victim_address)
        signed_up(page, moderator_name, moderator_address)
        make_moderator(server, moderator)

        # 2. The victim sits on the home page with the notification stream open.
        with victim_page.expect_response(lambda r: STREAM_PATH in r.url) as stream:
            victim_page.goto("/")
        assert stream.value.status == 200, stream.value.status
        victim_page.wait_for_function("window.__sseOpens >= 1")
        expect(victim_page.get_by_role("heading", name=f"Hello, {victim_name}.")).to_be_visible()
        expect(victim_page.locator("details.user-menu summary")).to_have_text(victim_name)
        time.sleep(0.3)  # the server subscribes the stream to wake-ups right after its first line
        victim_page.screenshot(path=artifacts / "admin-01-victim-home.png", full_page=True)

        # 3. The moderator opens the users table: newest first by default. The role was written
        # outside the site, which keeps a member's session row for up to VIEWER_KEEP_SECONDS.
        wait_for_role(page, "/admin/users")
        response = page.goto("/admin/users")
        assert response is not None and response.status == 200, response and response.status
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        rows = page.locator("#users-table tbody tr")
        expect(rows.filter(has_text=f"@{victim} ·")).to_have_count(1)
        # Newest first: the victim and the moderator (who joined together), then the others.
        joined = mine(row_usernames(page), ours)
        assert set(joined[:2]) == {victim, moderator}, joined
        assert joined[2:] == list(reversed(members)), joined
        shot("admin-02-users-default")
        mark_window(page)

        # Sort by username (the "Member" header): swapped in by htmx, URL pushed, A to Z.
        username_header = page.locator('#users-table thead th a[href*="sort=username"]')
        expect(username_header, "no header sorts the users table by username").to_have_count(1)
        with page.expect_response(is_table_fragment) as answer:
            username_header.click()
        assert answer.value.status == 200, answer.value.status
        expect(page).to_have_url(re.compile(r"/admin/users\?(.*&)?sort=username&dir=asc"))
        sorted_th = page.locator('#users-table thead th:has(a[href*="sort=username"])')
        expect(sorted_th).to_have_attribute("aria-sort", "ascending")
        names = row_usernames(page)
        assert names == sorted(names, key=str.lower), f"not A to Z: {names}"
        assert mine(names, ours) == sorted(ours), names
        assert window_survived(page), "sorting reloaded the page"

        # Again: Z to A.
        with page.expect_response(is_table_fragment):
            page.locator('#users-table thead th a[href*="sort=username"]').click()
        expect(page).to_have_url(re.compile(r"/admin/users\?(.*&)?sort=username&dir=desc"))
        expect(sorted_th).to_have_attribute("aria-sort", "descending")
        names = row_usernames(page)
        assert names == sorted(names, key=str.lower, reverse=True), f"not Z to A: {names}"
        assert mine(names, ours) == sorted(ours, reverse=True), names
        assert window_survived(page), "sorting again reloaded the page"
        shot("admin-03-users-by-username-desc")

        # Search for part of the victim's username: only his row is left, the sort is kept.
        search = page.locator("#filter-users input[type=search][name=q]")
        with page.expect_response(lambda r: is_table_fragment(r) and "q=victor" in r.url):
            search.press_sequentially("victor", delay=40)
        expect(page).to_have_url(re.compile(r"[?&]q=victor(&|$)"))
        expect(page).to_have_url(re.compile(r"sort=username&dir=desc"))
        expect(rows.filter(has_text=f"@{moderator} ·")).to_have_count(0)
        names = row_usernames(page)
        assert victim in names, names
        assert all("victor" in name.lower() for name in names), names
        assert mine(names, ours) == [victim], names
        assert window_survived(page), "searching reloaded the page"
        shot("admin-04-users-searched")

        # 4. Block the victim from his row: a confirm dialog, then only that row is redrawn.
        victim_row = rows.filter(has_text=f"@{victim} ·")
        row_id = victim_row.get_attribute("id") or ""
        assert re.fullmatch(r"user-row-\d+", row_id), row_id
        victim_id = int(row_id.rsplit("-", 1)[1])
        victim_row = page.locator(f"#{row_id}")
        expect(victim_row.get_by_role("button", name="Unblock")).to_have_count(0)
        page.evaluate(
            "(id) => { document.getElementById('admin-table').__kept = 1;"
            " window.__oldRow = document.getElementById(id); }",
            row_id,
        )
        dialogs: list[str] = []

        def accept(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.accept()

        # Any request for the whole table from here on (there should be none).
        reloads: list[str] = []
        page.on(
            "request",
            lambda r: (
                reloads.append(f"{r.method} {r.url} (HX-Trigger: {r.headers.get('hx-trigger')})")
                if urlsplit(r.url).path == "/admin/users"
                else None
            ),
        )
        page.once("dialog", accept)
        with page.expect_response(
            lambda r: r.url.endswith(f"/_/admin/users/{victim_id}/block") and r.request.method == "POST"
        ) as answer:
            victim_row.get_by_role("button", name="Block", exact=True).click()
        assert answer.value.status == 200, answer.value.status
        assert dialogs and dialogs[0].startswith(f"Block {victim}?"), dialogs
        # Leaving the search box for the button must not reload the table: a reload read
        # before the block commits would land after the row swap and show the row unblocked.
        redrawn = f"the table was reloaded by the click: {reloads}"
        expect(victim_row.locator(".badge", has_text="blocked"), redrawn).to_be_visible()
        expect(victim_row.locator(".row-note"), redrawn).to_have_text(f"Blocked {victim}.")
        expect(victim_row.get_by_role("button", name="Unblock")).to_be_visible()
        expect(victim_row.get_by_role("button", name="Block", exact=True)).to_have_count(0)
        assert page.evaluate("!document.contains(window.__oldRow)"), "the victim's row was not replaced"
        assert page.evaluate("document.getElementById('admin-table').__kept === 1"), redrawn
        assert window_survived(page), "blocking reloaded the page"
        expect(page).to_have_url(re.compile(r"[?&]q=victor(&|$)"))
        shot("admin-05-victim-blocked")

        # The Blocked filter agrees (the block is in the database, not only in the row).
        with page.expect_response(lambda r: is_table_fragment(r) and "status=blocked" in r.url):
            page.locator("#filter-users select[name=status]").select_option("blocked")
        expect(page).to_have_url(re.compile(r"[?&]status=blocked(&|$)"))
        expect(page.locator(f"#{row_id} .badge", has_text="blocked")).to_be_visible()
        assert mine(row_usernames(page), ours) == [victim], row_usernames(page)
        assert window_survived(page)

        # 5. The victim's open page hears at once that its session ended...
        expect(victim_page.locator("#session-ended-notice")).to_be_visible(timeout=LIVE_WITHIN_MS)
        expect(victim_page.locator("#session-ended-notice")).to_contain_text("You have been logged out.")
        victim_page.screenshot(path=artifacts / "admin-06-victim-told.png", full_page=True)

        # ...and his next action finds him logged out.
        victim_page.locator(".site-nav").get_by_role("link", name="Home", exact=True).click()
        nav = victim_page.locator(".site-nav")
        expect(nav.get_by_role("link", name="Log in", exact=True)).to_be_visible()
        expect(victim_page.locator("details.user-menu")).to_have_count(0)
        expect(victim_page.get_by_role("heading", name=f"Hello, {victim_name}.")).to_have_count(0)
        expect(victim_page.locator("#flashes")).to_contain_text("Your account is blocked.")
        victim_page.screenshot(path=artifacts / "admin-07-victim-logged-out.png", full_page=True)

        # Logging in again with the right password is refused: blocked.
        nav.get_by_role("link", name="Log in", exact=True).click()
        fill_login(victim_page, victim_address)
        expect(victim_page.locator("#login-form")).to_contain_text("Your account is blocked.")
        expect(victim_page.locator("details.user-menu")).to_have_count(0)
        victim_page.goto("/")
        expect(victim_page.locator(".site-nav").get_by_role("link", name="Log in", exact=True)).to_be_visible()
        victim_page.screenshot(path=artifacts / "admin-08-victim-login-refused.png", full_page=True)

        assert victim_errors == [], victim_errors
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]
    print(f"\nadmin browser test: {time.monotonic() - started:.1f} s")
