"""axe-core over every page of the site, as a visitor, a member and an administrator, at a
desktop and a phone width, in light and dark; plus the open states that matter (the user
menu, the phone menu, the search suggestions showing results, a hover card).

The site is the module's own: a fresh temp dir seeded with ``hyperpics seed`` (a fixed
``--seed``, so the same people, photos and comments every run; about two seconds) and then
served by ``hyperpics serve``; the other browser modules' session server is not touched.

axe-core is vendored for the tests only (tests/e2e/vendor/README.md). It goes in through
``add_init_script`` rather than ``add_script_tag``: the site's Content-Security-Policy
(``script-src 'self'``) refuses the inline <script> that add_script_tag writes, and the
tests keep the policy on, as real visitors have it.

A failure lists every violation of every page checked (rule, help, the elements' selectors),
not only the first one.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from .conftest import ACTION_TIMEOUT, Server, _free_port, server_env, serving
from .helpers import log_in

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1.min.js"
# WCAG 2.0 and 2.1, A and AA, plus axe's best practices (landmarks, headings, ...).
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PASSWORD = "correct horse battery"
SEED = ["--users", "10", "--photos", "14", "--tags", "8", "--follows", "25", "--collects", "25",
        "--comments", "20", "--reports", "6", "--seed", "15"]  # fmt: skip

RUN_AXE = """
async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + "  <- "
      + (n.failureSummary || "").split("\\n").slice(1).join(" ").trim()),
  }));
}
"""

FINISH_ANIMATIONS = """
() => Promise.race([
  Promise.all(document.getAnimations()
    .filter((a) => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
    .map((a) => a.finished.catch(() => null))),
  // ours last .2 s; one that never plays (hidden) must not hang the check
  new Promise((done) => setTimeout(done, 400)),
])
"""

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# Every page in three looks; the fourth (a phone in dark) adds no colour the desktop's dark
# lacks, so it checks the pages whose phone layout differs most plus the open states: the
# module stays within a couple of minutes on two busy cores.
LOOKS = [
    pytest.param(DESKTOP, "light", id="1366-light"),
    pytest.param(DESKTOP, "dark", id="1366-dark"),
    pytest.param(PHONE, "light", id="390-light"),
    pytest.param(PHONE, "dark", id="390-dark"),
]
PHONE_DARK_PAGES = 4  # the first pages of each list, then the open states


def _pages(paths: list[str], viewport: dict[str, int], scheme: str) -> list[str]:
    return paths[:PHONE_DARK_PAGES] if (viewport is PHONE and scheme == "dark") else paths


# --- the module's site ------------------------------------------------------------------------


@dataclass
class Site:
    server: Server
    admin: str  # login emails
    member: str
    member_username: str
    other_username: str  # someone the member follows or not: another profile
    photo_with_comments: int  # someone else's public photo with comments
    own_photo: int  # the member's photo (edit, delete)
    own_comment: int  # a comment of the member (its delete page)
    tag: int
    search_word: str  # finds photos, people and tags
    tag_name: str
    victim: str  # a member's login email that only the blocked-notice test uses
    victim_id: int


def _one(db: sqlite3.Connection, sql: str, *args: object) -> object:
    row = db.execute(sql, args).fetchone()
    assert row is not None, f"the seeded site has no row for: {sql}"
    return row[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("hyperpics-a11y")
    (root / "instance").mkdir()
    url = f"http://127.0.0.1:{_free_port()}"
    env = server_env(root, url)
    seeded = subprocess.run(
        [sys.executable, "-m", "hyperpics.cli", "seed", *SEED, "--password", PASSWORD, "--yes", "--workers", "1"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    logins = dict(re.findall(r"^\s+(administrator|member)\s+(\S+@\S+)", seeded.stdout, re.M))
    with sqlite3.connect(root / "instance" / "hyperpics.db") as db:
        member_id, member_username = db.execute(
            "SELECT id, username FROM users WHERE email = ?", (logins["member"],)
        ).fetchone()
        photo = _one(
            db,
            "SELECT p.id FROM photos p JOIN comments c ON c.photo_id = p.id WHERE p.visibility = 'public' "
            "AND p.author_id != ? GROUP BY p.id ORDER BY count(*) DESC LIMIT 1",
            member_id,
        )
        own_photo = _one(db, "SELECT id FROM photos WHERE author_id = ? ORDER BY id LIMIT 1", member_id)
        own_comment = _one(db, "SELECT id FROM comments WHERE author_id = ? ORDER BY id LIMIT 1", member_id)
        other = _one(db, "SELECT username FROM users WHERE id != ? AND active AND role_id = "
                     "(SELECT role_id FROM users WHERE id = ?) ORDER BY id LIMIT 1", member_id, member_id)  # fmt: skip
        tag = _one(db, "SELECT tag_id FROM photo_tags JOIN photos ON photos.id = photo_id "
                   "WHERE visibility = 'public' ORDER BY tag_id LIMIT 1")  # fmt: skip
        tag_name = str(_one(db, "SELECT name FROM tags WHERE id = ?", tag))
        victim_id, victim = db.execute(
            "SELECT id, email FROM users WHERE active AND confirmed AND NOT locked AND id != ? AND username != ? "
            "AND role_id = (SELECT role_id FROM users WHERE id = ?) ORDER BY id DESC LIMIT 1",
            (member_id, other, member_id),
        ).fetchone()
    with serving(root, artifacts, url=url, env=env, log_name="server-a11y.log") as server:
        yield Site(
            server=server, admin=logins["administrator"], member=logins["member"], member_username=member_username,
            other_username=str(other), photo_with_comments=int(photo), own_photo=int(own_photo),  # type: ignore[call-overload]
            own_comment=int(own_comment), tag=int(tag), search_word=tag_name[:4],  # type: ignore[call-overload]
            tag_name=tag_name, victim=victim, victim_id=victim_id,
        )  # fmt: skip


def _context(browser: Browser, site: Site, viewport: dict[str, int], scheme: str) -> BrowserContext:
    context = browser.new_context(base_url=site.server.url, viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(ACTION_TIMEOUT)
    context.add_init_script(path=AXE)
    return context


class Audit:
    """Runs axe on pages and keeps every violation, to report them all at the end."""

    def __init__(self, page: Page, label: str) -> None:
        self.page, self.label = page, label
        self.found: list[str] = []
        self.checked = 0

    def check(self, what: str) -> None:
        self.checked += 1
        # A menu fading in is half transparent: colours are judged once it has settled.
        self.page.evaluate(FINISH_ANIMATIONS)
        for violation in self.page.evaluate(RUN_AXE, RULE_TAGS):
            lines = "\n      ".join(violation["nodes"][:8])
            self.found.append(
                f"[{self.label}] {what} ({self.page.url}): {violation['id']} ({violation['impact']}) - "
                f"{violation['help']}\n      {lines}"
            )

    def visit(self, path: str, *, status: int = 200) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.page.wait_for_load_state("load")
        self.check(path)

    def assert_clean(self) -> None:
        assert self.checked, "nothing was checked"
        assert not self.found, f"{len(self.found)} axe violation(s):\n" + "\n".join(self.found)


@pytest.fixture
def audit(browser: Browser, site: Site, request: pytest.FixtureRequest) -> Iterator[Callable[..., Audit]]:
    contexts: list[BrowserContext] = []

    def make(viewport: dict[str, int], scheme: str, login: str | None = None) -> Audit:
        context = _context(browser, site, viewport, scheme)
        contexts.append(context)
        page = context.new_page()
        if login:
            log_in(page, login, PASSWORD)
            expect(page.locator("details.user-menu")).to_be_attached()
        return Audit(page, f"{viewport['width']} {scheme}")

    yield make
    for context in contexts:
        context.close()


def _open_states(audit: Audit, site: Site, *, phone: bool) -> None:
    """The menus, the suggestions dropdown and a hover card, open, on the current kind of page."""
    page = audit.page
    page.goto(f"/photo/{site.photo_with_comments}")
    if page.locator("details.user-menu").count():
        page.locator("details.user-menu > summary").click()
        expect(page.locator("details.user-menu[open]")).to_have_count(1)
        # On a phone this is the whole account menu (the name hides behind the avatar).
        audit.check("the phone menu, open" if phone else "the user menu, open")
        page.locator("details.user-menu > summary").click()
        expect(page.locator("details.user-menu[open]")).to_have_count(0)
    box = page.get_by_role("combobox", name="Search")
    box.fill(site.search_word)
    expect(page.get_by_role("option").first).to_be_visible()
    box.press("ArrowDown")
    audit.check("the search suggestions, showing results")
    box.press("Escape")
    link = page.locator(".photo-meta .user-link, .user-link").first
    link.hover()
    expect(page.locator(".card-slot > *").first).to_be_visible()
    audit.check("a hover card, shown")


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_a_visitors_pages_have_no_axe_violations(
    audit: Callable[..., Audit], site: Site, viewport: dict[str, int], scheme: str
) -> None:
    check = audit(viewport, scheme)
    for path in _pages(
        [
            "/",
            "/explore",
            f"/photo/{site.photo_with_comments}",
            f"/photo/{site.photo_with_comments}/collectors",
            f"/user/{site.other_username}",
            f"/user/{site.other_username}/followers",
            f"/tag/{site.tag}",
            "/search",
            f"/search?q={site.search_word}&category=photo",
            f"/search?q={site.search_word}&category=user",
            f"/search?q={site.search_word}&category=tag",
            "/auth/login",
            "/auth/register",
            "/auth/forget-password",
        ],
        viewport,
        scheme,
    ):
        check.visit(path)
    check.visit("/no/such/page", status=404)
    check.visit("/photo/999999", status=404)
    _open_states(check, site, phone=viewport is PHONE)
    check.assert_clean()


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_a_members_pages_have_no_axe_violations(
    audit: Callable[..., Audit], site: Site, viewport: dict[str, int], scheme: str
) -> None:
    check = audit(viewport, scheme, site.member)
    me, other = site.member_username, site.other_username
    for path in _pages(
        [
            "/",
            "/explore",
            f"/photo/{site.photo_with_comments}",
            f"/user/{me}",
            f"/user/{other}",
            f"/user/{me}/followers",
            f"/user/{me}/following",
            f"/user/{me}/collections",
            f"/tag/{site.tag}",
            f"/search?q={site.search_word}&category=user",
            "/notifications",
            "/settings/profile",
            "/settings/avatar",
            "/settings/password",
            "/settings/email",
            "/settings/notifications",
            "/settings/privacy",
            "/settings/account",
            "/upload",
            f"/photo/{site.own_photo}",
            f"/photo/{site.own_photo}/edit",
            f"/photo/{site.own_photo}/delete",
            f"/photo/{site.photo_with_comments}/report",
            f"/user/{other}/report",
            f"/_/comments/{site.own_comment}/delete",
        ],
        viewport,
        scheme,
    ):
        check.visit(path)
    _open_states(check, site, phone=viewport is PHONE)
    check.assert_clean()


@pytest.mark.parametrize(("viewport", "scheme"), LOOKS)
def test_the_admin_pages_have_no_axe_violations(
    audit: Callable[..., Audit], site: Site, viewport: dict[str, int], scheme: str
) -> None:
    check = audit(viewport, scheme, site.admin)
    for path in _pages(["/admin/", "/admin/users", "/admin/photos", "/admin/comments", "/admin/tags", "/admin/reports",
                        "/admin/audit", "/admin/users/3/edit"], viewport, scheme):  # fmt: skip
        check.visit(path)
    check.page.locator("details.user-menu > summary").click()
    check.check("the admin's user menu, open")
    check.assert_clean()


# --- the search suggestions from the keyboard ------------------------------------------------

ACTIVE = "() => document.querySelector('form.nav-search input[role=combobox]').getAttribute('aria-activedescendant')"


def _suggest(page: Page, typed: str) -> list[str]:
    """Type into the nav box; the ids of the options that come back, top to bottom."""
    box = page.get_by_role("combobox", name="Search")
    box.fill("")
    # The last answer's options go first (an empty box gets an empty list), or they would pass for the new ones.
    expect(page.get_by_role("option")).to_have_count(0)
    box.press_sequentially(typed)
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#search-suggestions")).to_have_attribute("role", "listbox")
    expect(page.get_by_role("option").first).to_be_visible()
    return page.locator("#search-suggestions [role=option]").evaluate_all("(all) => all.map((o) => o.id)")


def _walk_to(page: Page, wanted: str, ids: list[str]) -> None:
    """ArrowDown until ``wanted`` is the active option, checking the state at every step."""
    box = page.get_by_role("combobox", name="Search")
    for step, option_id in enumerate(ids):
        box.press("ArrowDown")
        assert page.evaluate(ACTIVE) == option_id, (step, ids)
        expect(page.locator(f"#{option_id}")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#search-suggestions [aria-selected=true]")).to_have_count(1)
        expect(box).to_be_focused()  # focus stays in the box
        if option_id == wanted:
            return
    raise AssertionError(f"no option {wanted} in {ids}")


def test_the_suggestions_follow_the_arrow_keys_and_enter_opens_the_active_one(
    audit: Callable[..., Audit], site: Site
) -> None:
    page = audit(DESKTOP, "light", site.member).page
    box = page.get_by_role("combobox", name="Search")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_attribute("aria-controls", "search-suggestions")

    # Down, down, up: the active option moves and only it is selected; Up from the top wraps.
    ids = _suggest(page, site.tag_name)
    assert len(ids) >= 3, ids
    box.press("ArrowDown")
    box.press("ArrowDown")
    assert page.evaluate(ACTIVE) == ids[1]
    box.press("ArrowUp")
    assert page.evaluate(ACTIVE) == ids[0]
    expect(page.locator(f"#{ids[1]}")).to_have_attribute("aria-selected", "false")
    box.press("ArrowUp")
    assert page.evaluate(ACTIVE) == ids[-1]

    # Escape closes: no options, collapsed, nothing active; ArrowDown asks again.
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("option")).to_have_count(0)
    assert page.evaluate(ACTIVE) is None
    expect(box).to_have_value(site.tag_name)  # Escape closed the list; it did not clear the box
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-expanded", "true")

    # Enter on the active option opens its page: a tag, a photo, a person.
    for typed, kind in ((site.tag_name, "tag"), (site.tag_name, "photo"), ("santos", "user")):
        page.goto("/explore")
        ids = _suggest(page, typed)
        wanted = next((option for option in ids if option.startswith(f"suggest-{kind}-")), None)
        assert wanted, (kind, ids)
        href = page.locator(f"#{wanted}").get_attribute("href")
        assert href
        _walk_to(page, wanted, ids)
        with page.expect_navigation():
            box.press("Enter")
        assert page.url == site.server.url + href, (page.url, href)
    # With nothing active, Enter is a plain search.
    ids = _suggest(page, site.tag_name)
    with page.expect_navigation():
        box.press("Enter")
    assert "/search?q=" + site.tag_name in page.url, page.url


def test_person_and_photo_suggestions_show_the_avatar_and_the_thumbnail_and_a_click_opens_them(
    audit: Callable[..., Audit], site: Site, artifacts: Path
) -> None:
    page = audit(DESKTOP, "light").page
    page.goto("/")
    _suggest(page, "santos")
    person = page.locator("#search-suggestions [role=option][id^=suggest-user-]").first
    expect(person.locator("img.avatar, .suggestion-no-avatar")).to_have_count(1)
    _suggest(page, site.tag_name)
    page.get_by_role("combobox", name="Search").press("ArrowDown")
    page.screenshot(path=artifacts / "a11y-suggestions.png")
    photo = page.locator("#search-suggestions [role=option][id^=suggest-photo-]").first
    thumb = photo.locator("img.suggestion-thumb")
    expect(thumb).to_have_count(1)
    assert thumb.evaluate("(img) => img.complete && img.naturalWidth > 0"), "the thumbnail did not load"
    # The mouse still works: an option is a link.
    href = photo.get_attribute("href")
    photo.click()
    expect(page).to_have_url(site.server.url + str(href))


# --- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_the_search_pages_box_fills_the_row_beside_its_button(
    audit: Callable[..., Audit], site: Site, viewport: dict[str, int], artifacts: Path
) -> None:
    page = audit(viewport, "light").page
    page.goto(f"/search?q={site.tag_name}")
    page.screenshot(path=artifacts / f"a11y-search-page-{viewport['width']}.png")
    form = page.get_by_role("search", name="Search")
    field = form.get_by_role("searchbox").bounding_box()
    button = form.get_by_role("button", name="Search").bounding_box()
    row = form.bounding_box()
    assert field and button and row
    assert abs(field["y"] + field["height"] / 2 - (button["y"] + button["height"] / 2)) < 4, (field, button)  # one row
    assert field["x"] + field["width"] <= button["x"], (field, button)  # the box, then the button
    assert field["width"] >= 240 if viewport is PHONE else field["width"] >= row["width"] - button["width"] - 40, (
        field,
        button,
        row,
    )
    assert button["width"] < field["width"] / 2, (field, button)
    assert button["x"] + button["width"] <= viewport["width"], (button, viewport)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366", "390"])
def test_a_blocked_members_open_page_shows_the_notice_on_screen_and_logs_out_the_header(
    audit: Callable[..., Audit], site: Site, viewport: dict[str, int], artifacts: Path
) -> None:
    victim = audit(viewport, "light", site.victim).page
    victim.goto("/explore")
    victim.wait_for_function("() => !!document.querySelector('#live')")
    # The admin blocks the victim (the row's Block button posts this, confirmed, with the CSRF header).
    admin = audit(DESKTOP, "light", site.admin).page
    admin.goto("/admin/users")
    token = admin.locator("meta[name=csrf-token]").get_attribute("content")
    answer = admin.request.post(
        f"/_/admin/users/{site.victim_id}/block",
        form={"confirmed": "1"},
        headers={"X-CSRF-Token": token or "", "Origin": site.server.url, "HX-Request": "true"},
    )
    assert answer.status == 200, answer.status
    try:
        notice = victim.locator("#session-ended-notice")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("You have been logged out.")
        box = notice.bounding_box()
        assert box
        width, height = viewport["width"], viewport["height"]
        assert box["x"] >= 0 and box["y"] >= 0, box
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, (box, viewport)
        # Still on screen after scrolling: it is fixed to the window.
        victim.mouse.wheel(0, 2000)
        victim.wait_for_function("() => window.scrollY > 0 || document.body.scrollHeight <= innerHeight")
        moved = notice.bounding_box()
        assert moved and moved["y"] >= 0 and moved["y"] + moved["height"] <= height, moved
        # The header no longer shows the member: a visitor's Log in / Join, no user menu, no Upload.
        header = victim.locator("header.site-header")
        expect(header.locator("details.user-menu")).to_have_count(0)
        expect(header.get_by_role("link", name="Log in")).to_be_visible()
        expect(header.get_by_role("link", name="Upload")).to_have_count(0)
        expect(header.locator(".bell")).to_have_count(0)
        victim.screenshot(path=artifacts / f"a11y-session-ended-{width}.png")
    finally:
        admin.request.post(
            f"/_/admin/users/{site.victim_id}/unblock",
            form={"confirmed": "1"},
            headers={"X-CSRF-Token": token or "", "Origin": site.server.url, "HX-Request": "true"},
        )
